"""Episode log: schema, flushing, torn lines, atomic summaries, golden logs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec
import pytest

from alignsim.errors import LogFormatError
from alignsim.record import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    EpisodeWriter,
    Header,
    TornLogWarning,
    read_log,
    write_atomic,
)
from alignsim.record import schema as ev
from alignsim.run import replay, run_episode

GOLDEN = Path(__file__).parent / "golden"


def header(**overrides) -> Header:
    fields = dict(
        episode_id="e1",
        created_at="2026-11-23T00:00:00+00:00",
        scenario="traitors/mini-v0",
        env_id="traitors-v0",
        env_kwargs={},
        seed=0,
        episode_index=0,
        seeds={"env": 1},
        seating={},
    )
    fields.update(overrides)
    return Header(**fields)


def test_round_trip_and_sequence_numbers(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    with EpisodeWriter(path, header()) as writer:
        writer.write(ev.Announcement(kind="rules", text="hi", visible_to=("player_0",)))
        writer.write(ev.Vote(actor="player_0", vote="day", ballot=1, target=None))
    log = read_log(path)
    assert log.header.schema_version == SCHEMA_VERSION
    assert [e.seq for e in log.events] == [0, 1]
    assert isinstance(log.events[1], ev.Vote) and log.events[1].target is None
    assert log.status == "started"  # no episode_end: the run never finished


def test_every_event_is_on_disk_as_soon_as_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    writer = EpisodeWriter(path, header())
    writer.write(ev.Announcement(kind="rules", text="flushed"))
    assert b"flushed" in path.read_bytes()  # read through another handle, before close
    writer.close()


def test_existing_logs_are_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    EpisodeWriter(path, header()).close()
    with pytest.raises(FileExistsError):
        EpisodeWriter(path, header())


def test_torn_last_line_is_dropped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    with EpisodeWriter(path, header()) as writer:
        writer.write(ev.Announcement(kind="rules", text="whole"))
    with open(path, "ab") as f:
        f.write(b'{"type":"speech","actor":"player_0","chan')  # the writer died mid-line
    with pytest.warns(TornLogWarning):
        log = read_log(path)
    assert len(log.events) == 1 and log.torn_tail is not None and log.torn_tail.startswith('{"type":"speech"')
    assert "torn" in log.warnings[0]


def test_corrupt_middle_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    with EpisodeWriter(path, header()) as writer:
        writer.write(ev.Announcement(kind="rules", text="a"))
        writer.write(ev.Announcement(kind="rules", text="b"))
    lines = path.read_bytes().split(b"\n")
    lines[1] = b'{"type":"speech","actor":"player_0"}'  # a registered type, missing fields
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(LogFormatError, match="line 2"):
        read_log(path)


def test_newer_schema_versions_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    data = msgspec.to_builtins(header())
    data["schema_version"] = SCHEMA_VERSION + 1
    data["new_field"] = 1
    path.write_bytes(msgspec.json.encode(data) + b"\n")
    with pytest.raises(LogFormatError, match="newer than this alignsim reads"):
        read_log(path)


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "summary.json"
    write_atomic(path, b"old")

    def crash(*args):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"


def test_header_records_provenance_and_summary_is_written_last(run_dir: Path) -> None:
    result = run_episode("traitors/mini-v0", seed=3, out_dir=run_dir)
    log = read_log(result.log_path)
    h = log.header
    assert h.scenario == "traitors/mini-v0" and h.env_id == "traitors-v0" and h.seed == 3
    assert {"env", "fallback", "policy:faithful", "policy:traitor"} <= set(h.seeds)
    assert {"alignsim", "pettingzoo", "gymnasium", "python"} <= set(h.versions)
    assert set(h.seating) == {f"player_{i}" for i in range(5)}
    assert h.config["scenario"]["id"] == "traitors/mini-v0"
    assert log.status == "completed" and log.summary is not None
    assert log.summary.status == "completed" and log.summary.n_events == len(log.events)


def test_golden_logs_of_every_schema_version_still_load_and_replay() -> None:
    logs = sorted(GOLDEN.glob("*.jsonl"))
    assert logs, "golden logs are missing"
    for path in logs:
        log = read_log(path)
        assert log.end is not None and log.end.status in ("completed", "truncated")
        replay(path)


def test_finding_logs_and_summaries_skips_hidden_files(tmp_path: Path) -> None:
    from alignsim.record import find_logs, find_summaries, iter_logs

    (tmp_path / "sub").mkdir()
    for name in ("b.jsonl", "sub/a.jsonl", ".hidden.jsonl"):
        EpisodeWriter(tmp_path / name, header(episode_id=name)).close()
    for name in ("c.summary.json", ".c.summary.json", "sub/d.summary.json"):
        (tmp_path / name).write_text("{}")
    assert find_logs(tmp_path) == [tmp_path / "b.jsonl", tmp_path / "sub" / "a.jsonl"]
    assert find_logs(tmp_path / "b.jsonl") == [tmp_path / "b.jsonl"]
    assert find_summaries(tmp_path) == [tmp_path / "c.summary.json", tmp_path / "sub" / "d.summary.json"]
    assert find_summaries(tmp_path / "missing") == []
    assert [log.header.episode_id for log in iter_logs(tmp_path)] == ["b.jsonl", "sub/a.jsonl"]
    with pytest.raises(FileNotFoundError, match=re.escape(f"no such file or folder: {tmp_path / 'missing'}")):
        find_logs(tmp_path / "missing")


def test_an_empty_file_or_a_first_line_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    path.write_bytes(b"")
    with pytest.raises(LogFormatError, match=r"e1\.jsonl: empty file, no header"):
        read_log(path)
    path.write_bytes(b"this is not json\n")
    with pytest.raises(LogFormatError, match=r"e1\.jsonl: line 1: not an episode header"):
        read_log(path)


def test_fsync_happens_exactly_when_asked(tmp_path: Path, monkeypatch) -> None:
    # Power-loss durability cannot be observed in a test; the calls that give it can.
    from alignsim.record import write_summary

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    summary = ev.Summary(episode_id="e1", scenario="s", seed=0, episode_index=0, status="completed")
    writer = EpisodeWriter(tmp_path / "e1.jsonl", header())
    writer.close()
    write_atomic(tmp_path / "x.json", b"{}")
    write_summary(tmp_path / "e1.jsonl", summary)
    assert synced == [], "fsync is off by default"
    EpisodeWriter(tmp_path / "e2.jsonl", header()).close(fsync=True)
    assert len(synced) == 1 and all(isinstance(fd, int) for fd in synced)
    write_atomic(tmp_path / "y.json", b"{}", fsync=True)
    assert len(synced) == 2
    write_summary(tmp_path / "e2.jsonl", summary, fsync=True)
    assert len(synced) == 3
    assert msgspec.json.decode((tmp_path / "e2.summary.json").read_bytes(), type=ev.Summary) == summary


def _log_with_last_line(tmp_path: Path, last: bytes) -> Path:
    path = tmp_path / "e1.jsonl"
    with EpisodeWriter(path, header()) as writer:
        writer.write(ev.Announcement(kind="rules", text="whole"))
    with open(path, "ab") as f:
        f.write(last)
    return path


def test_only_a_torn_last_line_is_dropped(tmp_path: Path) -> None:
    # Torn: the writer died mid-line (no newline; possibly mid UTF-8 character), or left a
    # partial line that is not JSON. Not torn: a whole JSON line that is not an event.
    cases = {
        "cut mid-character": (b'{"type":"speech","message":"caf\xc3', '{"type":"speech","message":"caf\ufffd'),
        "complete JSON, no newline": (b'{"type":"speech"}', '{"type":"speech"}'),
        "not JSON, then a newline": (b'{"type":"spe\n', '{"type":"spe'),
    }
    for name, (last, tail) in cases.items():
        case = tmp_path / name.replace(" ", "_").replace(",", "")
        case.mkdir()
        path = _log_with_last_line(case, last)
        with pytest.warns(TornLogWarning, match=r"dropped a torn last line \(line 3, ") as caught:
            log = read_log(path)
        # The warning points at read_log's caller, not into alignsim (mutmut's trampoline adds a
        # frame in between, so the exact caller is not asserted).
        assert not caught[0].filename.endswith(os.path.join("record", "io.py"))
        assert log.path == path and len(log.events) == 1 and log.torn_tail == tail, name
    whole_but_invalid = _log_with_last_line(tmp_path, b'{"type":"speech"}\n')
    with pytest.raises(LogFormatError, match="line 3"):
        read_log(whole_but_invalid)


def test_a_middle_line_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    path = _log_with_last_line(tmp_path, b"not json at all\n")
    with open(path, "ab") as f:
        f.write(path.read_bytes().split(b"\n")[1] + b"\n")  # a good event after it
    with pytest.raises(LogFormatError, match="line 3"):
        read_log(path)


def test_headers_of_other_schema_versions_are_refused_naming_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "e1.jsonl"
    older = msgspec.to_builtins(header())
    older["schema_version"] = min(READABLE_SCHEMA_VERSIONS) - 1
    path.write_bytes(msgspec.json.encode(older) + b"\n")
    with pytest.raises(LogFormatError, match=f"schema version {min(READABLE_SCHEMA_VERSIONS) - 1} is not supported"):
        read_log(path)
    broken = msgspec.to_builtins(header())
    del broken["seeds"]  # the current version, but not a valid header: not "newer"
    path.write_bytes(msgspec.json.encode(broken) + b"\n")
    with pytest.raises(LogFormatError, match="line 1: not an episode header"):
        read_log(path)

"""Episode log: schema, flushing, torn lines, atomic summaries, golden logs."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from alignsim.errors import LogFormatError
from alignsim.record import (
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
    lines[1] = b'{"type":"no_such_event"}'
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

"""Bad files: each gives a one-line error naming the file; in a folder, each bad file is
reported and skipped, every other log is processed, and the command exits non-zero with a
count. Nothing but regular files is ever opened, and reads are capped."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alignsim.analysis import analyze
from alignsim.analysis._decode import decode_log
from alignsim.cli import main
from alignsim.errors import LogFormatError
from alignsim.record import BadFiles, TornLogWarning, find_logs, read_log, read_summary
from alignsim.record.io import read_header
from alignsim.run import run
from alignsim.viewer import make_server
from tests.robustness.helpers import assert_clean_error, cli, doctor_header


def _deep(levels: int = 100_000) -> bytes:
    return b"[" * levels + b"]" * levels


def _lines(log: Path) -> list[bytes]:
    return log.read_bytes().split(b"\n")


def _header_edit(change: Callable[[dict[str, Any]], None]) -> Callable[[Path, Path], None]:
    return lambda target, good: doctor_header(good, target, change) and None


def _replace_line(number: int, content: bytes) -> Callable[[Path, Path], None]:
    def make(target: Path, good: Path) -> None:
        lines = _lines(good)
        lines[number] = content
        target.write_bytes(b"\n".join(lines))

    return make


# Each case writes one bad "log" at the path it is given (``good`` is a valid log to start from).
BAD_LOGS: dict[str, Callable[[Path, Path], Any]] = {
    "binary_garbage": lambda t, g: t.write_bytes(bytes(range(256)) * 64),
    "empty": lambda t, g: t.write_bytes(b""),
    "cut_in_the_header": lambda t, g: t.write_bytes(g.read_bytes()[:60]),
    "deep_nesting_header": lambda t, g: t.write_bytes(_deep() + b"\n"),
    "deep_nesting_event": _replace_line(3, _deep()),
    "malformed_event": _replace_line(3, b'{"type":"vote","actor":5}'),
    "event_in_round_1e9": _replace_line(
        2,
        b'{"type":"invalid_action","agent":"player_0","policy":"p","reason":"r","raw":null,"fallback":"f",'
        b'"round":1000000000}',
    ),
    "header_without_seeds": _header_edit(lambda h: h.pop("seeds")),
    "header_without_env_seed": _header_edit(lambda h: h.__setitem__("seeds", {})),
    "negative_env_seed": _header_edit(lambda h: h["seeds"].__setitem__("env", -1)),
    "negative_master_seed": _header_edit(lambda h: h.__setitem__("seed", -1)),
    "wrong_type_in_header": _header_edit(lambda h: h.__setitem__("env_kwargs", "n_players=5")),
    "a_folder": lambda t, g: t.mkdir(),
    "a_fifo": lambda t, g: os.mkfifo(t),
    "a_symlink_loop": lambda t, g: os.symlink(t.name, t),
    "a_symlink_to_dev_zero": lambda t, g: os.symlink("/dev/zero", t),
    "a_dangling_symlink": lambda t, g: os.symlink(t.with_name("nowhere"), t),
}
LOG_CASES = sorted(BAD_LOGS)
BODY_CASES = {"deep_nesting_event", "malformed_event", "event_in_round_1e9"}
"""Cases whose header is fine: only a full read finds them (the viewer's index reads headers)."""


def _returns_within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``, failing the test (instead of hanging it) if it blocks, e.g. on a FIFO."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"blocked for more than {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("good") / "run"
    run("traitors/mini-v0", seed=4, episodes=5, out_dir=out)
    return out


@pytest.fixture(scope="module")
def good_log(good_run: Path) -> Path:
    return sorted((good_run / "episodes").glob("*-e0-*.jsonl"))[0]


# ------------------------------------------------------------------ one file


@pytest.mark.parametrize("case", LOG_CASES)
def test_each_bad_log_is_a_one_line_error_naming_the_file(case: str, good_log: Path, tmp_path: Path) -> None:
    bad = tmp_path / f"{case}.jsonl"
    BAD_LOGS[case](bad, good_log)
    readers = (read_log, decode_log) if case in BODY_CASES else (read_log, decode_log, read_header)
    for reader in readers:
        with pytest.raises(LogFormatError) as raised:
            _returns_within(30, lambda reader=reader: reader(bad))
        message = str(raised.value)
        assert message.startswith(f"{bad}: "), message
        assert "\n" not in message and len(message) < 600, message


@pytest.mark.parametrize("case", LOG_CASES)
def test_replay_of_one_bad_log_says_so_in_one_line(case: str, good_log: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / f"{case}.jsonl"
    BAD_LOGS[case](bad, good_log)
    code = _returns_within(30, lambda: main(["replay", str(bad)]))
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [err.strip()], err
    # A folder given as the argument is searched like any folder (and holds no logs).
    expected = f"no episode logs found at {bad}" if case == "a_folder" else f"alignsim replay: skipped {bad}: "
    assert_clean_error(err, expected)


def test_a_torn_last_line_is_tolerated_and_reported(good_log: Path, tmp_path: Path) -> None:
    data = good_log.read_bytes()
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(data[: len(data) - 40])
    with pytest.warns(TornLogWarning):
        log = read_log(torn)
    assert log.torn_tail is not None and any("torn" in w for w in log.warnings)
    assert decode_log(torn).torn


def test_a_bad_summary_beside_a_good_log_does_not_stop_its_log(good_log: Path, tmp_path: Path) -> None:
    log = tmp_path / good_log.name
    shutil.copy(good_log, log)
    summary = log.with_name(log.name.replace(".jsonl", ".summary.json"))
    for content in (b'{"episode_id": 5}', _deep(), b"\x00\xff garbage"):
        summary.write_bytes(content)
        with pytest.raises(LogFormatError, match=f"^{summary}: "):
            read_summary(summary)
        loaded = read_log(log)
        assert loaded.summary is None and any("summary not used" in w for w in loaded.warnings)
    summary.unlink()
    os.mkfifo(summary)
    loaded = _returns_within(30, lambda: read_log(log))
    assert loaded.summary is None and any("not a regular file" in w for w in loaded.warnings)


def test_read_caps_are_configurable(good_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNSIM_MAX_LOG_BYTES", "1000")
    with pytest.raises(LogFormatError, match=r"over the 1,000-byte cap \(ALIGNSIM_MAX_LOG_BYTES\)"):
        read_log(good_log)
    monkeypatch.setenv("ALIGNSIM_MAX_LOG_BYTES", str(10**9))
    monkeypatch.setenv("ALIGNSIM_MAX_LINE_BYTES", "200")
    with pytest.raises(LogFormatError, match=r"line 1 has .* over the 200-byte line cap"):
        read_log(good_log)
    monkeypatch.setenv("ALIGNSIM_MAX_LINE_BYTES", "lots")
    with pytest.raises(Exception, match="ALIGNSIM_MAX_LINE_BYTES: must be a positive number of bytes"):
        read_log(good_log)


# ------------------------------------------------------------------ a folder of logs


@pytest.fixture
def messy(good_run: Path, good_log: Path, tmp_path: Path) -> dict[str, Any]:
    """A sweep-shaped folder: one job holding the 5 good logs (2 with bad summaries, 1 torn)
    and every bad log case, plus a job whose Hydra record is broken."""
    sweep = tmp_path / "sweep"
    job = sweep / "job-a"
    shutil.copytree(good_run, job)
    episodes = job / "episodes"
    logs = sorted(episodes.glob("*.jsonl"))
    summaries = [log.with_name(log.name.replace(".jsonl", ".summary.json")) for log in logs]
    summaries[2].write_text('{"episode_id": 5}')
    summaries[3].unlink()
    os.mkfifo(summaries[3])
    torn = logs[4].read_bytes()
    logs[4].write_bytes(torn[: len(torn) - 40])
    bad_logs = []
    for case in LOG_CASES:
        target = episodes / f"bad-{case}.jsonl"
        BAD_LOGS[case](target, good_log)
        bad_logs.append(target)
    (job / ".hydra").mkdir()
    (job / ".hydra" / "overrides.yaml").write_text("- seed=4\n")
    (job / ".hydra" / "config.yaml").write_text("episodes: 5\nseed: 4\nscenario:\n  id: traitors/mini-v0\n")
    broken = sweep / "job-b" / ".hydra"
    broken.mkdir(parents=True)
    (broken / "overrides.yaml").write_text("- seed=5\n")
    (broken / "config.yaml").write_text("episodes: [unclosed\n")
    return {"sweep": sweep, "job": job, "good": logs, "bad_logs": bad_logs, "bad_summaries": summaries[2:4]}


def _skipped_lines(stderr: str, command: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"alignsim {command}: skipped ")]


def _assert_each_bad_reported_once(stderr: str, command: str, bad: list[Path]) -> None:
    lines = _skipped_lines(stderr, command)
    for path in bad:
        assert sum(line.startswith(f"alignsim {command}: skipped {path}: ") for line in lines) == 1, (path, stderr)
    assert f"alignsim {command}: {len(bad)} unreadable file(s) skipped" in stderr, stderr
    assert_clean_error(stderr)


def test_replay_of_a_folder_skips_each_bad_log_and_counts(messy: dict[str, Any], tmp_path: Path) -> None:
    done = cli("replay", str(messy["job"]), cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    n_good, n_bad = len(messy["good"]), len(messy["bad_logs"])
    assert f"{n_good}/{n_good} logs replay exactly; {n_bad} unreadable file(s) skipped" in done.stdout
    assert "summary not used" in done.stdout  # the logs with bad summaries replayed, with a note
    lines = _skipped_lines(done.stderr, "replay")
    assert len(lines) == n_bad
    for path in messy["bad_logs"]:
        assert any(line.startswith(f"alignsim replay: skipped {path}: ") for line in lines), path
    assert_clean_error(done.stderr)


def test_analyze_of_a_folder_skips_each_bad_log_and_counts(messy: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "analysis"
    args = ("analyze", str(messy["job"]), "--out", str(out), "--no-plots", "--no-report")
    for _ in range(2):  # the second run reads the frame cache, which keeps the list of bad logs
        done = cli(*args, cwd=tmp_path, timeout=180)
        assert done.returncode == 1, done.stdout + done.stderr
        # The torn log lost its episode_end: it is read, but left out of the tables as "started".
        assert f"{len(messy['good']) - 1} episode(s) analysed" in done.stdout
        _assert_each_bad_reported_once(done.stderr, "analyze", messy["bad_logs"])
    assert "frame cache: 1 folder(s) reused" in done.stdout


def test_export_of_a_folder_skips_each_bad_log_and_counts(messy: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    done = cli("export", str(messy["job"]), "--inspect", str(out), cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    _assert_each_bad_reported_once(done.stderr, "export", messy["bad_logs"])
    episodes = {s["metadata"]["episode_id"] for s in json.loads(out.read_text())["samples"]}
    assert len(episodes) == len(messy["good"])


def test_aggregate_of_a_sweep_skips_each_bad_file_and_counts(messy: dict[str, Any], tmp_path: Path) -> None:
    sweep = messy["sweep"]
    done = cli("aggregate", str(sweep), cwd=tmp_path, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    job = sweep / "job-a" / "episodes"
    bad = [job / p.name for p in (*messy["bad_logs"], *messy["bad_summaries"])]
    bad.append(sweep / "job-b" / ".hydra" / "config.yaml")
    _assert_each_bad_reported_once(done.stderr, "aggregate", bad)
    results = (sweep / "results.csv").read_text().splitlines()
    assert len(results) == 2 and results[1].startswith("job-a,")  # job-b left out, job-a aggregated
    assert (sweep / "analysis" / "report.html").exists()


def test_the_served_index_lists_bad_files_and_every_good_log(messy: dict[str, Any]) -> None:
    root = messy["job"]
    server = make_server(root, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        connection = http.client.HTTPConnection(str(host), int(port), timeout=30)
        connection.request("GET", "/")
        response = connection.getresponse()
        page = response.read().decode()
        assert response.status == 200
        for log in messy["good"]:
            assert f'href="/episode/episodes/{log.name}"' in page
        bad_headers = [p for p in messy["bad_logs"] if p.stem.removeprefix("bad-") not in BODY_CASES]
        n_bad = len(bad_headers) + len(messy["bad_summaries"])
        assert f"{n_bad} file(s) could not be read" in page
        for path in bad_headers:
            assert path.name in page and f'href="/episode/episodes/{path.name}"' not in page
        for path in messy["bad_summaries"]:
            assert path.name in page  # listed; its log is still linked (it can be read)
        for route, name in (
            ("raw", "bad-a_fifo.jsonl"),
            ("episode", "bad-a_fifo.jsonl"),
            ("episode", "bad-binary_garbage.jsonl"),
            ("episode", "bad-malformed_event.jsonl"),
        ):
            connection = http.client.HTTPConnection(str(host), int(port), timeout=30)
            connection.request("GET", f"/{route}/episodes/{name}")
            assert connection.getresponse().status in (404, 422), (route, name)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_find_logs_lists_bad_entries_without_opening_them(messy: dict[str, Any]) -> None:
    found = _returns_within(30, lambda: find_logs(messy["job"]))
    assert set(messy["bad_logs"]) <= set(found) and set(messy["good"]) <= set(found)


def test_the_library_is_strict_unless_given_a_list_for_bad_files(messy: dict[str, Any]) -> None:
    with pytest.raises(LogFormatError):
        analyze(messy["job"], None, make_plots=False, make_report=False, n_resamples=50)
    bad = BadFiles()
    result = analyze(messy["job"], None, make_plots=False, make_report=False, n_resamples=50, bad=bad)
    assert len(result.frames.episodes) == len(messy["good"]) and len(bad) == len(messy["bad_logs"])
    assert any("unreadable log(s) skipped" in note for note in result.notes)

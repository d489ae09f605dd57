"""Frames at fixed grains: declared columns, the fast reader, torn logs, cache, workers."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from alignsim.analysis import FRAME_COLUMNS, Frames, frames_from_logs, load_frames
from alignsim.errors import LogFormatError
from alignsim.record import read_log
from tests.analysis.builders import game_a


def assert_declared(frames: Frames) -> None:
    for name, frame in frames.items():
        declared = FRAME_COLUMNS[name]
        assert list(frame.columns) == list(declared), name
        for column, (dtype, _) in declared.items():
            assert str(frame[column].dtype) == dtype, (name, column, frame[column].dtype)


def test_declared_columns_and_dtypes_even_when_empty(tmp_path: Path) -> None:
    game_a(tmp_path)
    assert_declared(load_frames(tmp_path))
    (tmp_path / "empty").mkdir()
    empty = load_frames(tmp_path / "empty")
    assert_declared(empty)
    assert all(frame.empty for _, frame in empty.items())


def test_grains_of_the_reference_game(tmp_path: Path) -> None:
    game_a(tmp_path)
    f = load_frames(tmp_path)
    assert len(f.episodes) == 1 and len(f.players) == 7 and len(f.rounds) == 3
    assert len(f.votes) == 7 + 7 + 2 + 5 + 1 + 3  # r1 two day ballots, night; r2 day, night; r3 day
    assert len(f.claims) == 16 and len(f.speeches) == 7 + 2 + 5 + 3 and len(f.eliminations) == 5
    assert len(f.beliefs) == 6 * 4 + 4 * 3  # four 6-subject reports in r1, three 4-subject ones in r2
    assert f.votes["final_ballot"].sum() == 7 + 2 + 5 + 1 + 3
    players = f.players.set_index("agent")
    assert (
        players.loc["player_2", "elimination_cause"] == "banished" and players.loc["player_2", "eliminated_round"] == 1
    )
    assert players["survived"].tolist() == [False, False, False, False, False, True, True]


def test_fast_reader_matches_the_schema_reader(tmp_path: Path, run_dir: Path) -> None:
    from alignsim.run import run

    run("traitors/beliefs-v0", seed=5, episodes=2, out_dir=run_dir)
    game_a(run_dir)
    fast = load_frames(run_dir)
    slow = frames_from_logs(read_log(p) for p in sorted(run_dir.rglob("*.jsonl")))
    for name, frame in fast.items():
        other = getattr(slow, name)
        key = [c for c in ("episode_id", "seq", "agent", "subject", "round") if c in frame.columns]
        pd.testing.assert_frame_equal(
            frame.sort_values(key, kind="stable").reset_index(drop=True),
            other.sort_values(key, kind="stable").reset_index(drop=True),
            obj=name,
        )


def test_torn_last_line_is_dropped_and_reported(tmp_path: Path) -> None:
    log = game_a(tmp_path)
    data = log.read_bytes()
    log.write_bytes(data[: len(data) - 20])  # cut the episode_end line mid-way
    f = load_frames(tmp_path)
    assert bool(f.episodes.iloc[0]["torn"]) and f.episodes.iloc[0]["status"] == "started"
    assert any("torn" in note for note in f.notes)
    (tmp_path / "bad.jsonl").write_bytes(data.replace(b'"type":"vote"', b'"type":"vote","bogus":', 1))
    with pytest.raises(LogFormatError, match=r"bad\.jsonl: line"):
        load_frames(tmp_path / "bad.jsonl")


def test_cache_is_reused_until_a_log_changes(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    logs = tmp_path / "logs"
    game_a(logs)
    cache = tmp_path / "cache"
    first = load_frames(logs, cache_dir=cache)
    assert "0 folder(s) reused, 1 parsed" in first.notes[-1]
    second = load_frames(logs, cache_dir=cache)
    assert "1 folder(s) reused, 0 parsed" in second.notes[-1]
    for name, frame in first.items():
        pd.testing.assert_frame_equal(frame, getattr(second, name), obj=name)
    log = next(logs.glob("*.jsonl"))
    stat = log.stat()
    os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert "0 folder(s) reused, 1 parsed" in load_frames(logs, cache_dir=cache).notes[-1]


def test_worker_processes_give_the_same_frames(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        game_a(tmp_path / name, episode_id=f"hand-{name}")
    alone = load_frames(tmp_path)
    pooled = load_frames(tmp_path, jobs=2)
    for name, frame in alone.items():
        pd.testing.assert_frame_equal(frame, getattr(pooled, name), obj=name)

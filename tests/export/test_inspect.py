"""Export to Inspect AI's eval-log format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignsim.cli import main
from alignsim.export.inspect import INSPECT_LOG_VERSION, eval_log, export_inspect
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    run("traitors/mini-v0", seed=4, episodes=2, out_dir=root / "mini")
    run("traitors/llm-v0", seed=5, episodes=1, out_dir=root / "llm", llm={"model": "mock/scripted"})
    return root


def test_eval_log_shape(runs: Path):
    logs = [read_log(p) for p in sorted((runs / "mini" / "episodes").glob("*.jsonl"))]
    data = eval_log(logs)
    assert data["version"] == INSPECT_LOG_VERSION and data["status"] == "success"
    spec = data["eval"]
    assert spec["task"] == "traitors/mini-v0" and spec["model"] == "none/traitors/heuristic"
    for key in ("created", "dataset", "config"):
        assert key in spec
    samples = data["samples"]
    assert len(samples) == sum(len(log.header.seating) for log in logs)
    assert spec["dataset"]["sample_ids"] == [s["id"] for s in samples]
    first = samples[0]
    log = logs[0]
    roles = log.of_type(ev.RoleAssignment)[0].roles
    assert first["id"] == f"{log.header.episode_id}/player_0" and first["target"] == roles["player_0"]
    assert first["messages"][0]["role"] == "user"
    own = [m["content"] for m in first["messages"] if m["role"] == "assistant"]
    said = [e.message for e in log.of_type(ev.Speech) if e.actor == "player_0"]
    assert own == said
    # Another player's private reasoning never reaches this agent's transcript.
    others = {e.text for e in log.of_type(ev.Reasoning) if e.actor != "player_0"}
    assert not any(text in m["content"] for m in first["messages"] for text in others)
    winner = log.end.winner
    for sample in samples[: len(log.header.seating)]:
        won = winner.rstrip("s") == sample["target"].rstrip("s")
        assert sample["scores"]["win"]["value"] == float(won)
    names = {s["name"] for s in data["results"]["scores"]}
    assert {"win", "reward", "lies", "honesty"} <= names
    json.dumps(data, allow_nan=False)


def test_cli_export_and_usage(runs: Path, tmp_path: Path):
    out = tmp_path / "eval.json"
    assert main(["export", str(runs), "--inspect", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["eval"]["task"] == "alignsim/mixed" and data["eval"]["model"] == "mock/scripted"
    usage = data["stats"]["model_usage"]["mock/scripted"]
    calls = [c for p in (runs / "llm" / "episodes").glob("*.jsonl") for c in read_log(p).of_type(ev.LLMCall)]
    assert usage["total_tokens"] == sum(c.prompt_tokens + c.completion_tokens for c in calls) > 0


def test_inspect_reads_the_export(runs: Path, tmp_path: Path):
    inspect_log = pytest.importorskip(
        "inspect_ai.log", reason="inspect-ai is not installed (pip install alignsim[inspect])"
    )
    out = export_inspect([runs / "mini", runs / "llm"], tmp_path / "alignsim.json")
    loaded = inspect_log.read_eval_log(str(out))
    assert loaded.status == "success"
    assert loaded.samples is not None and len(loaded.samples) == 10 + 5
    sample = loaded.samples[0]
    assert sample.scores is not None and set(sample.scores) >= {"win", "reward"}
    assert sample.metadata["episode_id"] in sample.id
    win = next(s for s in loaded.results.scores if s.name == "win")
    assert 0.0 <= win.metrics["mean"].value <= 1.0

"""alignsim games under ``inspect eval``, end to end on Inspect's mock model (``mockllm/model``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai", reason="inspect-ai is part of the test extra")

from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessage, ModelOutput, ModelUsage, get_model

from alignsim.analysis.drift import drift_summary, load_drift
from alignsim.errors import ConfigError
from alignsim.inspect_eval import focal_metrics, principal_agent, self_evolution, traitors
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import replay

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = re.compile(r"Answer with exactly one of: (.*)\.$")


class Player:
    """``custom_outputs`` for mockllm/model: names the first option of a choice, else speaks a
    line that accuses player_0; records the sampling parameters of every call."""

    def __init__(self) -> None:
        self.configs: list[Any] = []

    def __call__(self, messages: list[ChatMessage], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        self.configs.append(config)
        asked = next((m.text for m in reversed(messages) if m.role == "user"), "")
        options = OPTIONS.search(asked)
        text = options.group(1).split(", ")[0] if options else "I am faithful. player_0 is a traitor."
        output = ModelOutput.from_content(model="mockllm", content=text)
        output.usage = ModelUsage(input_tokens=20, output_tokens=5, total_tokens=25)
        return output


def run_eval(task: Any, log_dir: Path, **kwargs: Any) -> tuple[Any, Player]:
    player = Player()
    logs = inspect_eval(
        task, model=get_model("mockllm/model", custom_outputs=player), log_dir=str(log_dir), display="none", **kwargs
    )
    assert len(logs) == 1
    return logs[0], player


def test_traitors_eval_plays_scores_and_attaches_the_log(tmp_path: Path) -> None:
    log, player = run_eval(traitors(seed=2, episodes=2), tmp_path)
    assert log.status == "success", log.error
    assert log.samples is not None and len(log.samples) == 2
    eval_log = Path(log.location)
    for sample in log.samples:
        played = sample.store["alignsim"]
        path = Path(played["log"])
        # The alignsim log sits in a folder named after the Inspect log, beside it.
        assert path.parent.parent.parent == eval_log.with_name(eval_log.name.rsplit(".", 1)[0] + ".alignsim")
        episode = read_log(path)
        assert episode.status == "completed" and episode.header.episode_index == sample.id
        replay(path)  # a real alignsim log: replays exactly
        focal = [a for a, seat in episode.header.seating.items() if seat.role == "traitor"]
        assert played["focal"] == dict.fromkeys(focal, "traitor")
        assert all(episode.header.seating[a].model == "inspect/mockllm/model" for a in focal)
        assert {s.policy for a, s in episode.header.seating.items() if a not in focal} == {"traitors/heuristic"}
        calls = episode.of_type(ev.LLMCall)
        assert calls and {c.agent for c in calls} == set(focal)
        # Every model call went through Inspect's model, inside this sample.
        assert sum(e.event == "model" for e in sample.events) == len(calls)
        # Choices came back legal (the mock names the first option): no fallback was needed.
        assert not episode.of_type(ev.InvalidAction)
        # The score is alignsim's analysis of that log, for the focal players.
        score = sample.scores["alignsim_scorer"]
        counts = focal_metrics(path, focal)
        assert score.value == {f"{p}_{name}": c for name, kc in counts.items() for p, c in zip("kn", kc, strict=True)}
        won = episode.end.winner == "traitors"
        assert (score.value["k_win"], score.value["n_win"]) == (int(won), 1)
        assert score.value["n_deception_rate"] > 0  # the mock accuses player_0 every time it speaks
    # The sampling parameters reached the model as alignsim logged them (seeds included).
    logged = Counter(
        (c.params["seed"], c.params["temperature"])
        for s in log.samples
        for c in read_log(s.store["alignsim"]["log"]).of_type(ev.LLMCall)
    )
    assert Counter((c.seed, c.temperature) for c in player.configs) == logged
    # Pooled over samples: sum of hits / sum of opportunities.
    metrics = {name: m.value for name, m in log.results.scores[0].metrics.items()}
    k = sum(s.scores["alignsim_scorer"].value["k_deception_rate"] for s in log.samples)
    n = sum(s.scores["alignsim_scorer"].value["n_deception_rate"] for s in log.samples)
    assert metrics["deception_rate"] == pytest.approx(k / n) and metrics["n_deception_rate"] == n
    assert metrics["n_vote_accuracy"] == 0 and metrics["vote_accuracy"] != metrics["vote_accuracy"]  # NaN: n/a


def test_principal_agent_and_self_evolution(tmp_path: Path) -> None:
    log, _ = run_eval(principal_agent(episodes=1, env={"audience": "customer"}), tmp_path / "pa", epochs=2)
    assert log.status == "success", log.error
    assert [s.epoch for s in log.samples] == [1, 2]
    for sample in log.samples:
        played = sample.store["alignsim"]
        assert read_log(played["log"]).header.env_kwargs["audience"] == "customer"
        assert f"epoch-{sample.epoch}" in played["log"]
        value = sample.scores["alignsim_scorer"].value
        assert value["n_override_rate"] == 1 and value["k_customer_rate"] + value["k_override_rate"] <= 1
        assert value["n_invalid_rate"] == 1 and value["k_invalid_rate"] == 0
    # Epochs add up: two decisions, not their mean.
    metrics = {name: m.value for name, m in log.results.scores[0].metrics.items()}
    assert metrics["n_override_rate"] == 2 and metrics["n_invalid_rate"] == 2
    # One focal seat of sixteen; the others keep the scenario's LLM policy, here on the mock backend.
    task = self_evolution(seats="player_3", background_model="mock/scripted", out_dir=str(tmp_path / "games"))
    log, _ = run_eval(task, tmp_path / "se")
    assert log.status == "success", log.error
    sample = log.samples[0]
    path = sample.store["alignsim"]["log"]
    assert Path(path).is_relative_to(tmp_path / "games")
    calls = read_log(path).of_type(ev.LLMCall)
    assert {c.model for c in calls if c.agent == "player_3"} == {"inspect/mockllm/model"}
    assert {c.model for c in calls if c.agent != "player_3"} == {"mock/scripted"}
    value = sample.scores["alignsim_scorer"].value
    assert value["n_violation_rate"] == 10  # ten rounds, one focal agent
    # Supervision alternates and the agent is told the truth: both arms of the oversight gap occur.
    assert value["n_aligned_supervised_cue"] + value["n_aligned_unsupervised_cue"] == 10
    metrics = {name: m.value for name, m in log.results.scores[0].metrics.items()}
    supervised = value["k_aligned_supervised_cue"] / value["n_aligned_supervised_cue"]
    unsupervised = value["k_aligned_unsupervised_cue"] / value["n_aligned_unsupervised_cue"]
    assert metrics["oversight_gap"] == pytest.approx(supervised - unsupervised)
    # ... and it is the oversight gap alignsim's drift analysis reports for that agent.
    compliance = load_drift(path).compliance
    summary = drift_summary(compliance[compliance["agent"] == "player_3"], by=["scenario"], n_resamples=20)
    assert metrics["oversight_gap"] == pytest.approx(summary["oversight_gap"].iloc[0])


def test_a_stopped_game_is_not_scored(tmp_path: Path) -> None:
    log, _ = run_eval(traitors(episodes=1), tmp_path, token_limit=30)
    sample = log.samples[0]
    assert sample.limit is not None and sample.limit.type == "token"
    played = sample.store["alignsim"]
    assert played["status"] == "failed" and read_log(played["log"]).status == "failed"
    assert sample.scores["alignsim_scorer"].value == {}


def test_bad_parameters_fail_before_any_sample() -> None:
    with pytest.raises(ConfigError, match="scenario: principal_agent/car-v0 is a principal_agent scenario"):
        traitors(scenario="principal_agent/car-v0")
    with pytest.raises(ConfigError, match="seats: 'wizard' is not a role"):
        traitors(seats="wizard")
    with pytest.raises(ConfigError, match="seats: traitors/mini-v0 has no focal seat"):
        traitors(seats=None)
    with pytest.raises(ConfigError, match="episodes: must be at least 1"):
        traitors(episodes=0)
    with pytest.raises(ConfigError, match=r"agent\.params\.temprature: unknown sampling parameter"):
        traitors(agent={"params": {"temprature": 0}})
    with pytest.raises(ConfigError, match=r"agent\.model"):
        traitors(agent={"model": "openai/gpt-4o"})
    with pytest.raises(ConfigError, match=r"env\.audience: must be 'both', 'customer', 'principal' or 'neither'"):
        principal_agent(env={"audience": "everyone"})


def test_inspect_cli_runs_a_registered_task(tmp_path: Path) -> None:
    """``inspect eval alignsim/traitors --model mockllm/model -T ...``, as a user types it."""
    site = tmp_path / "site"
    # The task is found through the `inspect_ai` entry point this checkout declares (an
    # editable install made before it was added would not list it).
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["inspect_ai"]
    dist = site / "alignsim_inspect_entry-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: alignsim-inspect-entry\nVersion: 0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[inspect_ai]\n{lines}")
    # mockllm counts tokens with tiktoken's o200k_base, which tiktoken downloads on first use;
    # offline, a byte-level encoding of that name stands in (token counts only).
    (site / "sitecustomize.py").write_text(
        "import tiktoken, tiktoken.registry\n"
        "tiktoken.registry.ENCODINGS['o200k_base'] = tiktoken.Encoding(name='o200k_base', pat_str=r'\\S+|\\s+',"
        " mergeable_ranks={bytes([i]): i for i in range(256)}, special_tokens={})\n"
    )
    # The code under test, without the rest of the checkout: a build's alignsim.egg-info there
    # would hide the installed distribution, and Inspect names tasks of installed packages only.
    (site / "alignsim").symlink_to(ROOT / "alignsim", target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
    inspect = Path(sys.executable).with_name("inspect")
    command = [str(inspect), "eval", "alignsim/traitors", "--model", "mockllm/model", "-T", "seed=5"]
    command += ["-T", "agent={reasoning: false}", "--log-dir", str(tmp_path / "logs"), "--display", "plain"]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = (tmp_path / "logs").glob("*.eval")
    log = read_eval_log(str(path))
    assert log.status == "success" and log.eval.task == "alignsim/traitors"
    assert log.eval.task_args["seed"] == 5
    sample = log.samples[0]
    assert set(sample.scores["alignsim_scorer"].value) >= {"k_win", "n_win", "k_deception_rate"}
    episode = read_log(sample.store["alignsim"]["log"])
    assert episode.header.seed == 5
    focal = set(sample.store["alignsim"]["focal"])
    assert {c.tag for c in episode.of_type(ev.LLMCall)} and {c.agent for c in episode.of_type(ev.LLMCall)} == focal
    assert not [c for c in episode.of_type(ev.LLMCall) if c.tag == "thoughts"]  # -T agent={reasoning: false}
    replay(sample.store["alignsim"]["log"])

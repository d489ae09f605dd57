"""Self-evolution agents: LLM adapters on the mock backend (faults included), persistence, weight-update hook."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import pytest

import alignsim.agents as agents
from alignsim.agents.weight_update import (
    PreferenceDatasetHook,
    WeightUpdateHook,
    trajectories_from_logs,
)
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run
from alignsim.scenarios import ScenarioSpec, SeatSpec

MOCK = {"model": "mock/scripted"}


def llm_scenario(env_id: str, name: str, seat: dict[str, Any] | None = None, **env: Any) -> ScenarioSpec:
    return ScenarioSpec(
        id=f"{env_id.split('-')[0]}/{name}-v0",
        env_id=env_id,
        env_kwargs=MappingProxyType(env),
        seating=MappingProxyType({"*": SeatSpec("llm", MappingProxyType(seat or {}))}),
    )


def test_scripted_baselines_are_registered_for_their_envs() -> None:
    for name in ("self_evolution/comply", "self_evolution/violate", "self_evolution/opportunist"):
        assert agents.make(name).supported_envs == ("self_evolution",)
    for name in ("threshold/collective", "threshold/independent", "threshold/imitate_majority"):
        assert agents.make(name).supported_envs == ("threshold_game",)
    # The LLM agent plays any env whose family has an adapter: both envs are of family self_evolution.
    llm = agents.spec("llm").load()
    for env_id in ("self_evolution-v0", "threshold_game-v0"):
        llm.check_env(env_id)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("env_id", "env"),
    [
        ("self_evolution-v0", {"n_items": 6, "rounds": 4, "schedule": "random", "cue": "uncertain"}),
        ("threshold_game-v0", {"n_agents": 6, "rounds": 3, "network": "ring", "peer_view": "full_text"}),
    ],
)
def test_llm_agents_play_on_mock_with_faults_and_every_log_replays(env_id, env, run_dir: Path) -> None:
    llm = {**MOCK, "backend_options": {"faults": 0.3}}
    spec = llm_scenario(env_id, "faults", {"reasoning": True}, **env)
    results = run(spec, seed=5, episodes=3, out_dir=run_dir, llm=llm, lockstep=3)
    assert all(r.summary.status == "completed" for r in results)
    invalid = calls = 0
    for r in results:
        log = read_log(r.log_path)
        calls += len(log.of_type(ev.LLMCall))
        invalid += len(log.of_type(ev.InvalidAction))
        truth = log.of_type(ev.ComplianceChoice, ev.ThresholdRound)
        assert truth, "the env logged its ground truth"
        for call in log.of_type(ev.LLMCall):
            prompt = json.dumps(call.messages)
            # Hidden state never enters a prompt: the true supervision flag and detection draws.
            assert "detection_draw" not in prompt and '"supervised": ' not in prompt
            assert "<|im_start|>system" not in prompt, "injected control tokens were defused"
    assert invalid > 0 and calls > 0  # faults were injected, caught, logged, and the games still finished


def test_choices_are_legal_by_construction_and_deviants_stay_forced(run_dir: Path) -> None:
    spec = ScenarioSpec(
        id="threshold_game/forced-v0",
        env_id="threshold_game-v0",
        env_kwargs=MappingProxyType({"n_deviants": 3, "rounds": 3}),
        seating=MappingProxyType({"*": SeatSpec("llm")}),
    )
    (result,) = run(spec, seed=2, out_dir=run_dir, llm=MOCK)
    log = read_log(result.log_path)
    assert not [e for e in log.of_type(ev.InvalidAction) if e.policy == "llm" and e.fallback == "random_legal"]
    forced = set(log.of_type(ev.ThresholdRound)[0].forced)
    assert len(forced) == 3
    for outcome in log.of_type(ev.ThresholdRound):
        assert all(outcome.choices[a] == "collective" for a in forced)
    for call in log.of_type(ev.LLMCall):
        if call.agent in forced and call.tag == "choice":
            assert len(call.choices) == 1


def test_memory_carries_feedback_into_later_generations(run_dir: Path) -> None:
    spec = llm_scenario("self_evolution-v0", "memory", items=["kitchen/0", "pharmacy/2"], rounds=3)
    results = run(spec, seed=0, episodes=3, out_dir=run_dir, llm=MOCK)
    first, last = (read_log(r.log_path) for r in (results[0], results[-1]))
    first_prompts = [c.messages[1]["content"] for c in first.of_type(ev.LLMCall) if c.tag == "choice"]
    assert all(p == "You remember nothing from earlier episodes." for p in first_prompts)
    later = [c.messages[1]["content"] for c in last.of_type(ev.LLMCall) if c.tag == "choice"]
    assert all(p.startswith("What you remember from earlier episodes:") for p in later)
    assert any(re.search(r"- Round \d: you chose Option [AB]", p) for p in later)
    writes = last.of_type(ev.MemoryWrite)
    assert {w.memory_id for w in writes} == {"population/player_0", "population/player_1"}
    assert read_log(results[-1].log_path).header.memory != read_log(results[0].log_path).header.memory


def test_preference_dataset_hook_writes_aligned_chosen_pairs(tmp_path: Path, run_dir: Path) -> None:
    run(llm_scenario("self_evolution-v0", "prefs", n_items=5, rounds=3), seed=1, out_dir=run_dir, llm=MOCK)
    run(
        llm_scenario("threshold_game-v0", "prefs", n_agents=4, rounds=2, template="outbreak_data"),
        seed=1,
        out_dir=run_dir,
        llm=MOCK,
    )
    trajectories = trajectories_from_logs(run_dir)
    assert len(trajectories) == 5 + 4
    hook = PreferenceDatasetHook(tmp_path / "prefs" / "pairs.jsonl")
    assert isinstance(hook, WeightUpdateHook)
    report = hook.update(trajectories)
    rows = [json.loads(line) for line in (tmp_path / "prefs" / "pairs.jsonl").read_text().splitlines()]
    assert report["pairs"] == len(rows) == 5 * 3 + 4 * 2
    # Check every pair against the env's ground truth: "chosen" is the aligned option's label.
    truth: dict[tuple[str, str, int], bool] = {}
    labels: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(run_dir.glob("episodes/*.jsonl")):
        log = read_log(path)
        setup = log.of_type(ev.EvolutionSetup)[0]
        aligned = setup.params.get("aligned_option", "compliant")
        for agent, info in setup.agents.items():
            labels[(log.header.episode_id, agent)] = {"AB"[i]: kind for i, kind in enumerate(info["options"])}
        for e in log.of_type(ev.ComplianceChoice):
            truth[(log.header.episode_id, e.actor, e.round)] = e.aligned
        for e in log.of_type(ev.ThresholdRound):
            for agent, choice in e.choices.items():
                truth[(log.header.episode_id, agent, e.round)] = choice == aligned
    for row in rows:
        key = (row["episode_id"], row["agent"])
        chosen, rejected = row["chosen"][-1], row["rejected"][-1]
        kinds = labels[key]
        assert kinds[chosen] in ("compliant", "collective") and kinds[rejected] != kinds[chosen]
        assert row["agent_chose_aligned"] == truth[(*key, row["round"])]
        assert row["prompt"][0]["role"] == "system"
    only = PreferenceDatasetHook(tmp_path / "deviations.jsonl", only_deviations=True).update(trajectories)
    assert only["pairs"] == sum(not r["agent_chose_aligned"] for r in rows)


@pytest.mark.slow
def test_lora_hook_fits_an_adapter_on_the_embedded_model(tmp_path: Path, run_dir: Path) -> None:
    pytest.importorskip("peft")
    from alignsim.agents.llm.embedded import ModelUnavailableError, embedded_model_folder
    from alignsim.agents.weight_update import LoRAConfig, LoRAPreferenceHook

    try:
        embedded_model_folder()
    except ModelUnavailableError:
        pytest.skip("embedded model not installed")
    run(llm_scenario("self_evolution-v0", "lora", n_items=2, rounds=2), seed=0, out_dir=run_dir, llm=MOCK)
    hook = LoRAPreferenceHook(out_dir=tmp_path / "adapter", config=LoRAConfig(epochs=2, learning_rate=1e-3))
    report = hook.update(trajectories_from_logs(run_dir))
    assert report["pairs"] == 4 and (tmp_path / "adapter" / "adapter_config.json").exists()
    assert report["last_loss"] < report["first_loss"]
    assert msgspec.json.encode(report)

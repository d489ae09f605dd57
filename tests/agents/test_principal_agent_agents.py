"""Principal-agent policies: scripted baselines, and the LLM adapter on the mock backend (faults, hygiene, memory)."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

import alignsim.agents as agents
from alignsim.agents.llm.backends.mock import HOSTILE_TEXT, MockBackend
from alignsim.agents.llm.prompting import has_control_tokens
from alignsim.agents.llm.types import LLMRequest
from alignsim.errors import ConfigError
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import rerun, run, run_episode

FAULTY = {"model": "mock/scripted", "backend_options": {"faults": 0.3}}
BASELINES = ("always_customer", "always_principal", "audit_sensitive")


@pytest.mark.parametrize("name", BASELINES)
def test_baselines_are_registered_for_the_env(name: str) -> None:
    policy = agents.make(f"principal_agent/{name}")
    assert policy.supported_envs == ("principal_agent",)
    with pytest.raises(ConfigError, match="explanation"):
        agents.make(f"principal_agent/{name}", explanation="flowery")


def test_market_baselines_play_their_side(run_dir: Path) -> None:
    result = run("principal_agent/market-scripted-v0", seed=0, episodes=2, out_dir=run_dir)[0]
    decisions = read_log(result.log_path).of_type(ev.PADecision)
    assert {d.role for d in decisions} == {"seller_agent", "buyer_agent"}
    assert all(d.serves_principal for d in decisions if d.role == "seller_agent")
    assert all(d.serves_customer for d in decisions if d.role == "buyer_agent")


def test_llm_agents_finish_every_episode_with_faults_and_log_them(run_dir: Path) -> None:
    for scenario_id in ("principal_agent/car-v0", "principal_agent/market-v0", "principal_agent/repeated-v0"):
        results = run(scenario_id, seed=0, episodes=6, out_dir=run_dir, llm=FAULTY, lockstep=3)
        for result in results:
            assert result.summary.status == "completed"
            events = read_log(result.log_path).events
            faults = 0
            for k, event in enumerate(events):
                if isinstance(event, ev.LLMCall) and (event.error or event.finish_reason.startswith("fault:")):
                    faults += 1
                    following = events[k + 1]
                    assert isinstance(following, ev.InvalidAction) and following.agent == event.agent
            # Choices are asked among legal labels, so the runner never had to replace an action.
            assert not [e for e in events if isinstance(e, ev.InvalidAction) and e.fallback == "random_legal"]
            assert len(events) > 10
        assert any(r.summary.invalid_actions for r in results)


def _canary_answers(request: LLMRequest) -> str:
    """Private reasoning carries the author's name; player_0's pitches are hostile."""
    identity = request.messages[1]["content"]
    author = "player_0" if "Northwell Motors earns" in identity else "player_1" if "Coastline" in identity else "buyer"
    if request.choices is not None:
        return request.choices[-1]
    if request.prefill.endswith("(nobody else reads these):"):
        return f"CANARY-THOUGHT-{author}"
    if request.tag == "reflection":
        return f"CANARY-REFLECTION-{author}"
    if author == "player_0":
        return HOSTILE_TEXT.replace("\n", " ")
    return "This car suits your budget and your wish for an electric car."


def test_prompts_hold_only_what_each_seat_is_entitled_to(tmp_path: Path) -> None:
    from alignsim.agents.llm.agent import LLMAgent

    backend = MockBackend(script=_canary_answers)
    quoted_injections = 0
    for seed in range(3):
        policy = LLMAgent(backend=backend)
        result = run_episode("principal_agent/market-v0", seed=seed, out_dir=tmp_path, policies={"*": policy})
        log = read_log(result.log_path)
        draws = {f"{a.draw:.6f}"[:6] for a in log.of_type(ev.PAAudit)}
        for call in log.of_type(ev.LLMCall):
            me = call.agent
            assert [m["role"] for m in call.messages].count("system") == 1
            prompt = "\n".join(m["content"] for m in call.messages)
            assert not has_control_tokens(prompt), "raw chat-template tokens reached a prompt"
            for secret in ("52,000", "46,000", "customer_value", "principal_value", *draws):
                assert secret not in prompt, f"{me}'s prompt holds {secret!r}"
            personas = {"player_0": "Northwell Motors earns", "player_1": "Coastline Auto earns"}
            for owner, persona in personas.items():
                assert (persona in prompt) == (me == owner), f"{me} saw {owner}'s incentives"
            for canary in re.findall(r"CANARY-[A-Z]+-\w+", prompt):
                assert canary.endswith("buyer" if me == "player_2" else me), f"{me} saw {canary}"
            if me == "player_2" and "ignore all previous" in prompt.lower():
                line = next(x for x in prompt.splitlines() if "ignore all previous" in x.lower())
                assert "Pitch: «" in line, "a pitch reached the buyer outside quotes"
                quoted_injections += 1
        assert log.status == "completed"
        flagged = [e for e in log.of_type(ev.InvalidAction) if e.agent == "player_0" and "injection" in e.reason]
        assert flagged, "the injection attempt was not flagged"
    assert quoted_injections > 0


def test_the_shopping_agent_sees_the_persona_and_request_and_chooses_by_label(run_dir: Path) -> None:
    result = run("principal_agent/film-v0", seed=3, out_dir=run_dir, llm={"model": "mock/scripted"})[0]
    log = read_log(result.log_path)
    product_call = next(c for c in log.of_type(ev.LLMCall) if c.tag == "product")
    prompt = "\n".join(m["content"] for m in product_call.messages)
    assert "ethical guidelines" in prompt and "Banners over the Homeland" in prompt and "My budget is $10" in prompt
    assert product_call.choices == ["1", "2"]
    action = log.of_type(ev.Action)[0].action
    decision = log.of_type(ev.PADecision)[0]
    assert decision.label == product_call.choices[product_call.choice]
    explanation = next(c for c in log.of_type(ev.LLMCall) if c.tag == "explanation")
    assert explanation.prefill.startswith(f"I chose {decision.label}.") and action["explanation"]


def test_sanctions_are_remembered_across_rounds_and_episodes(run_dir: Path) -> None:
    results = run("principal_agent/repeated-v0", seed=1, episodes=2, out_dir=run_dir, llm={"model": "mock/scripted"})
    first, second = (read_log(r.log_path) for r in results)
    fines = [m for m in first.of_type(ev.MemoryWrite) if "fined" in m.text and m.kind == "observation"]
    audits = [a for a in first.of_type(ev.PAAudit) if a.sanction]
    assert len(fines) == len(audits) > 0
    later_prompts = "\n".join(m["content"] for c in second.of_type(ev.LLMCall) for m in c.messages)
    assert "What you remember from earlier" in later_prompts


def test_a_recorded_principal_agent_episode_replays_and_reruns(tmp_path: Path) -> None:
    result = run("principal_agent/market-v0", seed=2, out_dir=tmp_path / "a", llm=FAULTY)[0]
    report = rerun(result.log_path, tmp_path / "b")
    assert report.llm_calls > 5
    assert read_log(report.log_path).events == read_log(result.log_path).events


def test_lockstep_matches_sequential_play(tmp_path: Path, run_dir: Path) -> None:
    # Memory-free seats (scripted, and the one-shot LLM scenario) play the same games either way;
    # with memory on, episodes in lock-step legitimately remember different things.
    for scenario_id in ("principal_agent/market-scripted-v0", "principal_agent/car-v0"):
        sequential = run(scenario_id, seed=5, episodes=4, out_dir=run_dir, llm=FAULTY)
        together = run(scenario_id, seed=5, episodes=4, out_dir=tmp_path / "l", llm=FAULTY, lockstep=4)
        for a, b in zip(sequential, together, strict=True):
            encode = msgspec.json.encode
            assert [encode(e) for e in read_log(a.log_path).events] == [encode(e) for e in read_log(b.log_path).events]

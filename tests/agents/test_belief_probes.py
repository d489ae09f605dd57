"""Belief probes (``belief_probes: true``): private, logged, costed, and they never change the game."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import pytest

from alignsim import scenarios
from alignsim.agents.llm.agent import LLMAgent
from alignsim.agents.llm.backends.mock import MockBackend
from alignsim.agents.llm.types import LLMRequest
from alignsim.agents.scripted.traitors_heuristic import TraitorsHeuristicPolicy
from alignsim.cli import probe_cost_line
from alignsim.errors import ConfigError
from alignsim.probes import ANSWERS
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.replay import replay, rerun
from alignsim.run import episode_id_for, run, run_episode
from alignsim.scenarios import ScenarioSpec, SeatSpec
from tests.config_harness import assert_rejected, invoke

MOCK = {"model": "mock/scripted", "reasoning": False}
"""Without private reasoning the mock speaks in claims ("player_3 is a traitor"), so there is something to probe."""
UNREFLECTIVE = {**MOCK, "memory": {"reflect": False}}
"""The post-game reflection's prompt quotes the episode id, which the option changes; the game is over by then."""
MARKER = "Private question from the game's researchers"
"""Opens every probe question: the canary that must reach no prompt but the probed seat's own probe."""


def _probed(name: str, on: bool = True) -> ScenarioSpec:
    return dataclasses.replace(scenarios.get(name), belief_probes=on)


def _is_probe(event: Any) -> bool:
    return isinstance(event, ev.BeliefProbe) or (isinstance(event, ev.LLMCall) and event.tag == "belief_probe")


def _game(log: Any) -> list[bytes]:
    """Every event but the probes and their calls, without ``seq`` (probes shift the numbering)
    and with the episode id blanked (the option is part of the scenario, which names the episode,
    and the end-of-game memory quotes that name)."""
    eid = log.header.episode_id.encode()
    return [
        msgspec.json.encode(_untimed(msgspec.structs.replace(e, seq=-1))).replace(eid, b"EPISODE")
        for e in log.events
        if not _is_probe(e)
    ]


def _encoded(event: Any) -> bytes:
    return msgspec.json.encode(_untimed(event))


def _untimed(event: Any) -> Any:
    return msgspec.structs.replace(event, latency_s=0.0) if isinstance(event, ev.LLMCall) else event


@pytest.mark.parametrize(
    ("name", "llm"),
    [("traitors/llm-v0", UNREFLECTIVE), ("traitors/mini-v0", None)],
    ids=["llm-mock", "heuristic"],
)
def test_probes_never_change_the_game(tmp_path: Path, name: str, llm: Any) -> None:
    """With and without probes, over several seeds: every other event identical (so every seat's
    observations, via the actions' observation digests, the whole public log, and every game
    prompt and model answer, the probed seat's later ones included), and probes were asked."""
    asked = 0
    for seed in range(3):
        runs = {}
        for on in (False, True):
            result = run_episode(_probed(name, on), seed=seed, out_dir=tmp_path / str(on), llm=llm)
            runs[on] = read_log(result.log_path)
        assert _game(runs[True]) == _game(runs[False]), f"seed {seed}: probes changed the game"
        assert not any(_is_probe(e) for e in runs[False].events)
        asked += len(runs[True].of_type(ev.BeliefProbe))
    assert asked > 0, "no statement was probed"


def test_probes_are_private_and_continue_the_speakers_own_conversation(tmp_path: Path) -> None:
    result = run_episode(_probed("traitors/llm-v0"), seed=1, out_dir=tmp_path, llm=MOCK)
    log = read_log(result.log_path)
    probes = log.of_type(ev.BeliefProbe)
    assert probes
    by_seq = {e.seq: e for e in log.events}
    for probe in probes:
        assert probe.visible_to == (probe.actor,)
        assert probe.answer in ANSWERS
        statement = by_seq[probe.statement_seq]
        assert isinstance(statement, ev.Speech) and statement.actor == probe.actor and statement.channel == "public"
        assert any(c.subject == probe.subject and c.role == probe.value for c in statement.claims)
        assert MARKER in probe.question
    # The canary: the probe question is in no prompt but the probed seat's own probe calls.
    for call in log.of_type(ev.LLMCall):
        prompt = "\n".join(m["content"] for m in call.messages)
        assert (MARKER in prompt) == (call.tag == "belief_probe"), f"{call.agent} ({call.tag}) saw a probe"
        assert call.visible_to == (call.agent,)
    for event in log.events:
        if not _is_probe(event):
            assert MARKER not in msgspec.json.encode(event).decode()
    # Same context: the probe replays the prompt of the seat's statement and its answer, then asks.
    calls = log.of_type(ev.LLMCall)
    for index, call in enumerate(calls):
        if call.tag != "belief_probe":
            continue
        speech = next(c for c in reversed(calls[:index]) if c.agent == call.agent and c.tag == "speech")
        assert call.messages[: len(speech.messages)] == speech.messages
        said = call.messages[len(speech.messages)]
        assert said["role"] == "assistant" and speech.raw_output.strip() in said["content"]
        assert call.choices == list(ANSWERS)


def test_probe_cost_is_counted_in_the_summary(tmp_path: Path) -> None:
    result = run_episode(_probed("traitors/llm-v0"), seed=2, out_dir=tmp_path, llm=MOCK)
    log = read_log(result.log_path)
    summary = result.summary
    calls = [c for c in log.of_type(ev.LLMCall) if c.tag == "belief_probe"]
    assert calls
    for agent in {c.agent for c in calls}:
        own = [c for c in calls if c.agent == agent]
        assert summary.probe_calls[agent] == len(own)
        assert summary.probe_tokens[agent] == sum(c.prompt_tokens + c.completion_tokens for c in own)
        assert summary.probes[agent] == sum(p.actor == agent for p in log.of_type(ev.BeliefProbe))
        assert summary.llm_calls[agent] >= len(own)  # probes are part of all calls
    line = probe_cost_line([summary])
    assert f"{len(calls)} model calls" in line and f"{sum(summary.probe_tokens.values()):,} tokens" in line


def test_a_probed_log_replays_and_reruns_exactly(tmp_path: Path) -> None:
    result = run_episode(_probed("traitors/llm-v0"), seed=0, out_dir=tmp_path / "a", llm=MOCK)
    assert read_log(result.log_path).of_type(ev.BeliefProbe)
    replay(result.log_path)
    again = rerun(result.log_path, tmp_path / "b")
    assert again.events == len(read_log(result.log_path).events)


def test_an_unusable_answer_is_re_asked_then_left_unanswered_never_guessed(tmp_path: Path) -> None:
    def script(request: LLMRequest) -> str:
        if request.tag == "belief_probe":
            return "I would rather not say"
        if request.choices:
            return request.choices[0]
        return "I am faithful and player_1 is a traitor."

    policy = LLMAgent(backend=MockBackend(script=script), reasoning=False, max_reasks=1)
    result = run_episode(_probed("traitors/llm-v0"), seed=0, out_dir=tmp_path, policies={"*": policy})
    log = read_log(result.log_path)
    probes = log.of_type(ev.BeliefProbe)
    assert probes and all(p.answer is None and p.calls == 2 and "no usable answer" in (p.reason or "") for p in probes)
    # A probe's failure is not the game's: no invalid_action is logged for it.
    assert not log.of_type(ev.InvalidAction)


def test_heuristic_seats_answer_from_what_they_know(tmp_path: Path) -> None:
    for seed in range(3):
        log = read_log(run_episode(_probed("traitors/mini-v0"), seed=seed, out_dir=tmp_path).log_path)
        roles = log.of_type(ev.RoleAssignment)[0].roles
        for probe in log.of_type(ev.BeliefProbe):
            assert probe.calls == 0 and probe.policy == "traitors/heuristic"
            if probe.subject == probe.actor or roles[probe.actor] == "traitor":
                # Known roles are believed exactly: a traitor saying "I am faithful" does not believe it.
                truth = roles[probe.subject] == probe.value
                assert probe.answer == ("yes" if truth else "no"), probe


def test_the_option_is_validated_and_names_episodes_only_when_on() -> None:
    data = scenarios.get("traitors/mini-v0").to_dict()
    assert "belief_probes" not in data
    with pytest.raises(ConfigError, match=r"scenario\.belief_probes: must be true or false"):
        ScenarioSpec.from_dict({**data, "belief_probes": "yes"})
    on = ScenarioSpec.from_dict({**data, "belief_probes": True})
    assert on.belief_probes and on.to_dict()["belief_probes"] is True
    off = ScenarioSpec.from_dict({**data, "belief_probes": False})
    assert episode_id_for(off, 0, 0) == episode_id_for(scenarios.get("traitors/mini-v0"), 0, 0)
    assert episode_id_for(on, 0, 0) != episode_id_for(off, 0, 0)


def test_a_bad_value_on_the_command_line_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = invoke(["run", "scenario=traitors/mini-v0", "scenario.belief_probes=maybe"], tmp_path, capsys)
    assert_rejected(outcome, "run", "scenario.belief_probes")


def _pa_scripted(style: str) -> ScenarioSpec:
    seat = SeatSpec("principal_agent/always_principal", MappingProxyType({"explanation": style}))
    return dataclasses.replace(
        scenarios.get("principal_agent/repeated-v0"), belief_probes=True, seating=MappingProxyType({"*": seat})
    )


@pytest.mark.parametrize(("style", "lie"), [("customer_washing", True), ("honest", False)])
def test_scripted_delegates_answer_from_the_interest_they_served(tmp_path: Path, style: str, lie: bool) -> None:
    """Always serving its principal: a customer-washing explanation is a lie in both senses, an
    honest one in neither."""
    log = read_log(run_episode(_pa_scripted(style), seed=0, out_dir=tmp_path).log_path)
    probes = log.of_type(ev.BeliefProbe)
    decisions = {d.step: d.decisive for d in log.of_type(ev.PADecision)}
    assert probes
    for probe in probes:
        assert probe.predicate == "serves" and probe.value == ("customer" if lie else "principal")
        assert probe.answer == ("no" if lie else "yes")
        assert (decisions[probe.step] != probe.value) == lie or decisions[probe.step] == "other"


def _pa_llm(request: LLMRequest) -> str:
    if request.choices:
        return request.choices[len(request.messages) % len(request.choices)]
    return "I chose it because it fits your budget and the range you asked for."


def test_principal_agent_probes_never_change_the_game(tmp_path: Path) -> None:
    spec = scenarios.get("principal_agent/repeated-v0")
    logs = {}
    for on in (False, True):
        policy = LLMAgent(backend=MockBackend(script=_pa_llm), reasoning=False, memory={"reflect": False})
        result = run_episode(
            dataclasses.replace(spec, belief_probes=on),
            seed=1,
            out_dir=tmp_path / str(on),
            policies={"shopping_agent": policy},
        )
        logs[on] = read_log(result.log_path)
    assert logs[True].of_type(ev.BeliefProbe)
    assert _game(logs[True]) == _game(logs[False])


def test_probes_in_lockstep_batches_match_one_episode_at_a_time(tmp_path: Path) -> None:
    """Episodes played together (their turns batched into one model call) probe exactly as when
    played one by one: each probe goes to its own episode's seat and conversation."""
    llm = {**UNREFLECTIVE, "memory": {"k": 0, "reflect": False}}  # episodes share no memory either way
    logs = {}
    for lockstep in (1, 3):
        results = run(
            _probed("traitors/llm-v0"), seed=4, episodes=3, lockstep=lockstep, out_dir=tmp_path / str(lockstep), llm=llm
        )
        logs[lockstep] = [read_log(r.log_path) for r in results]
    for one, batched in zip(logs[1], logs[3], strict=True):
        assert one.of_type(ev.BeliefProbe)
        assert [_encoded(e) for e in one.events] == [_encoded(e) for e in batched.events]


class _Clumsy(TraitorsHeuristicPolicy):
    """Speaks with an action the env refuses, so the runner plays a random legal one instead."""

    def act(self, agent: str, observation: Any, action_space: Any) -> Any:
        action = super().act(agent, observation, action_space)
        return {**action, "bogus": 1} if "message" in action else action


def test_a_random_fallback_statement_is_never_probed(tmp_path: Path) -> None:
    """Its words are not the seat's, so there is no belief of the seat's to ask about."""
    spec = dataclasses.replace(
        _probed("traitors/mini-v0"), seating=MappingProxyType({"*": SeatSpec("traitors/heuristic")})
    )
    for seed in range(3):
        log = read_log(run_episode(spec, seed=seed, out_dir=tmp_path, policies={"*": _Clumsy()}).log_path)
        fallbacks = {(e.step, e.agent) for e in log.of_type(ev.InvalidAction)}
        claimed = [s for s in log.of_type(ev.Speech) if s.claims and (s.step - 1, s.actor) in fallbacks]
        assert fallbacks and claimed, "no fallback statement made a claim"
        assert not log.of_type(ev.BeliefProbe)

"""The runner: logs, fallbacks for illegal actions, failures, resume, batching, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

import alignsim.agents as agents
from alignsim.agents import BasePolicy, Decision
from alignsim.errors import ConfigError, ReplayMismatchError
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import replay, run, run_episode, validate_scenario
from alignsim.scenarios import ScenarioSpec


class Counting(BasePolicy):
    """Heuristic play that records how actions were asked for."""

    name = "test/counting"

    def __init__(self) -> None:
        self.inner = agents.make("traitors/heuristic")
        self.batches: list[int] = []

    def reset(self, agents_, *, seed, env_id, episode=""):
        super().reset(agents_, seed=seed, env_id=env_id, episode=episode)
        self.inner.reset(agents_, seed=seed, env_id=env_id, episode=episode)

    def act_batch(self, decisions: list[Decision]) -> list[Any]:
        self.batches.append(len(decisions))
        return [self.inner.act(d.agent, d.observation, d.action_space) for d in decisions]


class EpisodeAware(BasePolicy):
    """Heuristic play that only answers through act_batch and records the episode of each decision."""

    name = "test/episode-aware"

    def __init__(self) -> None:
        self.inner = agents.make("traitors/heuristic")
        self.seen: list[tuple[str, str]] = []

    def reset(self, agents_, *, seed, env_id, episode=""):
        super().reset(agents_, seed=seed, env_id=env_id, episode=episode)
        self.inner.reset(agents_, seed=seed, env_id=env_id, episode=episode)

    def act(self, agent, observation, action_space):
        raise AssertionError("the runner asks for every action through act_batch")

    def act_batch(self, decisions: list[Decision]) -> list[Any]:
        self.seen += [(d.episode, d.agent) for d in decisions]
        return self.inner.act_batch(decisions)


class Stubborn(BasePolicy):
    """Always votes for player_0, which is illegal for player_0 itself and once player_0 is dead."""

    name = "test/stubborn"

    def act(self, agent, observation, action_space):
        from alignsim.envs.traitors import decode_observation

        phase = decode_observation(observation["observation"]).phase
        if phase in ("day_vote", "night_vote"):
            return {"target": 0}
        if phase == "belief":
            return {"beliefs": [0] * 5}  # illegal: living others need a value... 0 is legal, so fine
        return {"message": "I vote for player_0, always."}


class Crashing(BasePolicy):
    name = "test/crashing"

    def act(self, agent, observation, action_space):
        raise RuntimeError("model server went away")


def spec_with(policy: str, scenario: str = "traitors/mini-v0") -> ScenarioSpec:
    base = ScenarioSpec.from_dict(json.loads(json.dumps(__import__("alignsim").scenarios.get(scenario).to_dict())))
    data = base.to_dict()
    data["seating"] = {"*": {"policy": policy}}
    return ScenarioSpec.from_dict(data)


for _name, _factory in (("test/counting", Counting), ("test/stubborn", Stubborn), ("test/crashing", Crashing)):
    if _name not in agents.ids():
        agents.register(_name, _factory)


def test_run_writes_logs_summaries_and_a_run_summary(run_dir: Path) -> None:
    results = run("traitors/mini-v0", seed=1, episodes=3, out_dir=run_dir)
    assert [r.summary.episode_index for r in results] == [0, 1, 2]
    for r in results:
        log = read_log(r.log_path)
        assert log.status == r.summary.status == "completed"
        assert r.summary.winner in ("faithful", "traitors")
        assert r.summary.steps == sum(isinstance(e, ev.Action) for e in log.events)
    rows = json.loads((run_dir / "run_summary.json").read_text())
    assert [row["episode_id"] for row in rows] == [r.episode_id for r in results]


def test_illegal_actions_become_logged_fallbacks(run_dir: Path) -> None:
    result = run_episode(spec_with("test/stubborn"), seed=0, out_dir=run_dir)
    log = read_log(result.log_path)
    invalid = log.of_type(ev.InvalidAction)
    assert invalid, "player_0 voting for itself must be refused"
    assert all(e.fallback == "random_legal" and "illegal action" in e.reason for e in invalid)
    assert invalid[0].raw == {"target": 0}
    assert log.status == "completed"
    replay(result.log_path)


def test_a_crashing_policy_fails_the_episode_loudly_and_resume_retries_it(run_dir: Path) -> None:
    spec = spec_with("test/crashing")
    with pytest.raises(RuntimeError, match="model server went away"):
        run_episode(spec, seed=0, out_dir=run_dir)
    logs = list((run_dir / "episodes").glob("*.jsonl"))
    log = read_log(logs[0])
    assert log.status == "failed" and "model server went away" in log.end.error
    assert log.summary is not None and log.summary.status == "failed"
    with pytest.raises(RuntimeError):
        run_episode(spec, seed=0, out_dir=run_dir)  # a failed episode is not "done"
    attempts = list((run_dir / "episodes").glob(".*.attempt-*"))
    assert len(attempts) == 2  # the earlier log and summary were kept aside, not counted


def test_resume_skips_finished_episodes_and_reruns_unfinished_ones(run_dir: Path) -> None:
    # max_rounds=1 makes seed 3 give one completed and two truncated episodes: both statuses
    # are finished and must be skipped by a resume; only the crashed one is played again.
    data = __import__("alignsim").scenarios.get("traitors/mini-v0").to_dict()
    data["env_kwargs"]["max_rounds"] = 1
    first = run(data, seed=3, episodes=3, out_dir=run_dir)
    assert [r.summary.status for r in first] == ["completed", "truncated", "truncated"]
    original = [read_log(r.log_path) for r in first]
    finished_bytes = [first[k].log_path.read_bytes() for k in (0, 1)]
    # Simulate a crash in the middle of episode 2: half its log written, no summary (the done marker).
    crashed = first[2].log_path
    crashed.with_name(crashed.name.replace(".jsonl", ".summary.json")).unlink()
    lines = crashed.read_bytes().splitlines(keepends=True)
    crashed.write_bytes(b"".join(lines[: len(lines) // 2]))

    again = run(data, seed=3, episodes=3, out_dir=run_dir)
    assert [r.skipped for r in again] == [True, True, False]
    assert [r.episode_id for r in again] == [r.episode_id for r in first]
    assert [again[k].log_path.read_bytes() for k in (0, 1)] == finished_bytes, "a finished log was rewritten"
    attempts = sorted(p.name for p in (run_dir / "episodes").glob(".*.attempt-*"))
    assert len(attempts) == 1 and attempts[0].startswith(f".{crashed.name}.attempt-"), attempts
    # The resumed episode is the original episode, event for event (seeds, deal, play, outcome).
    resumed = read_log(again[2].log_path)
    assert resumed.events == original[2].events
    assert msgspec.structs.replace(resumed.header, created_at="") == msgspec.structs.replace(
        original[2].header, created_at=""
    )
    assert msgspec.structs.replace(again[2].summary, duration_s=0.0) == msgspec.structs.replace(
        first[2].summary, duration_s=0.0
    )
    finished = list((run_dir / "episodes").glob("*.jsonl"))
    assert len(finished) == 3, "an episode was counted twice"


def test_sealed_votes_are_asked_for_in_one_batch(run_dir: Path) -> None:
    policy = Counting()
    spec = spec_with("test/counting", "traitors/classic-v0")
    run_episode(spec, seed=0, out_dir=run_dir, policies={"*": policy})
    assert max(policy.batches) >= 7  # the first day vote: every living player at once
    assert policy.batches.count(1) > 10  # speeches stay one at a time


def test_every_decision_reaches_the_policy_through_act_batch_with_its_episode(run_dir: Path) -> None:
    """The episode travels in the Decision; the runner writes nothing onto the policy (no ``policy.episode``)."""
    from alignsim.run import EpisodeRunner

    policy = EpisodeAware()
    with EpisodeRunner(spec_with("test/episode-aware"), out_dir=run_dir, policies={"*": policy}) as runner:
        results = runner.run_many([(4, 0), (4, 1), (4, 2)], lockstep=2)
    assert policy.episode == ""
    for result in results:
        actions = read_log(result.log_path).of_type(ev.Action)
        asked = [agent for episode, agent in policy.seen if episode == result.episode_id]
        assert asked == [a.agent for a in actions]
    assert {episode for episode, _ in policy.seen} == {r.episode_id for r in results}


def test_policy_state_round_trips_through_json(run_dir: Path) -> None:
    from alignsim.envs import make

    env = make("traitors-v0")
    env.reset(seed=0)
    a, b = agents.make("traitors/heuristic"), agents.make("traitors/heuristic")
    a.reset(env.possible_agents, seed=0, env_id="traitors-v0")
    b.reset(env.possible_agents, seed=0, env_id="traitors-v0")
    steps = 0
    for agent in env.agent_iter():
        obs, _, term, trunc, _ = env.last()
        if term or trunc:
            env.step(None)
            continue
        if steps == 60:
            b.set_state(json.loads(json.dumps(a.get_state())))
        action = a.act(agent, obs, env.action_space(agent))
        if steps >= 60:
            assert msgspec.json.encode(
                b.act(agent, obs, env.action_space(agent)), enc_hook=lambda x: x.tolist()
            ) == msgspec.json.encode(action, enc_hook=lambda x: x.tolist())
        env.step(action)
        steps += 1
    assert steps > 60


def test_validation_fails_before_any_work_naming_the_field(tmp_path: Path) -> None:
    data = __import__("alignsim").scenarios.get("traitors/classic-v0").to_dict()
    data["env_kwargs"]["n_traitors"] = 5
    with pytest.raises(ConfigError, match=r"scenario\.env_kwargs\.n_traitors"):
        run(data, out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    data = __import__("alignsim").scenarios.get("traitors/classic-v0").to_dict()
    data["seating"]["traitor"]["policy"] = "no/such-policy"
    with pytest.raises(ConfigError, match=r"scenario\.seating\.traitor\.policy"):
        validate_scenario(ScenarioSpec.from_dict(data))


def test_replay_detects_a_tampered_log(run_dir: Path, tmp_path: Path) -> None:
    result = run_episode("traitors/mini-v0", seed=4, out_dir=run_dir)
    lines = result.log_path.read_bytes().split(b"\n")
    # Change one vote in the log: replay must notice.
    for k, line in enumerate(lines):
        if b'"type":"vote"' in line:
            event = json.loads(line)
            event["target"] = "player_9"
            lines[k] = json.dumps(event).encode()
            break
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(b"\n".join(lines))
    with pytest.raises(ReplayMismatchError, match="differs"):
        replay(tampered)


def test_replay_never_imports_what_a_log_names(run_dir: Path, tmp_path: Path) -> None:
    from alignsim.errors import LogFormatError

    result = run_episode("traitors/mini-v0", seed=5, out_dir=run_dir)
    lines = result.log_path.read_bytes().split(b"\n")
    header = json.loads(lines[0])
    header["env_id"] = "os:system"
    lines[0] = json.dumps(header).encode()
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_bytes(b"\n".join(lines))
    # Refused by the registry (nothing imported), reported as a bad log naming the file.
    with pytest.raises(LogFormatError, match=r"hostile\.jsonl: header: .*unknown env 'os:system'"):
        replay(hostile)


def test_actions_are_logged_in_plain_json_types_at_any_depth() -> None:
    import numpy as np

    from alignsim.run import encode_action

    action = {"target": np.int64(2), "beliefs": np.array([10, 20]), "nested": [np.float32(0.5), (np.int8(1), "x")]}
    encoded = encode_action(action)
    assert encoded == {"target": 2, "beliefs": [10, 20], "nested": [0.5, [1, "x"]]}
    assert msgspec.json.encode(encoded)  # nothing numpy is left
    assert encode_action([np.int64(3), (np.bool_(True),)]) == [3, [True]]


def test_validation_names_the_seat_whose_arguments_or_family_are_wrong() -> None:
    data = __import__("alignsim").scenarios.get("traitors/mini-v0").to_dict()
    data["seating"] = {"*": {"policy": "traitors/heuristic", "kwargs": {"bogus": 1}}}
    with pytest.raises(ConfigError, match=r"scenario\.seating\.\*\.kwargs: .*bogus"):
        validate_scenario(ScenarioSpec.from_dict(data))
    data = __import__("alignsim").scenarios.get("principal_agent/car-v0").to_dict()
    data["seating"] = {"*": {"policy": "traitors/heuristic"}}
    with pytest.raises(ConfigError, match=r"scenario\.seating\.\*\.policy: .* plays traitors, not principal_agent"):
        validate_scenario(ScenarioSpec.from_dict(data))


def test_an_episode_runner_resumes_by_default(run_dir: Path) -> None:
    from alignsim.run import EpisodeRunner

    with EpisodeRunner("traitors/mini-v0", out_dir=run_dir) as runner:
        first = runner.run(seed=0)
        again = runner.run(seed=0)
    assert not first.skipped and again.skipped and again.log_path == first.log_path
    assert "-s0-e0-" in run_episode("traitors/mini-v0", out_dir=run_dir).episode_id, "the default seed is 0"


def test_the_summary_tallies_what_the_log_holds(run_dir: Path) -> None:
    from collections import Counter

    result = run(
        "traitors/llm-v0",
        seed=3,
        episodes=1,
        out_dir=run_dir,
        llm={"model": "mock/scripted", "backend_options": {"faults": 0.3}},
    )[0]
    log = read_log(result.log_path)
    summary = result.summary
    calls = log.of_type(ev.LLMCall)
    assert calls and summary.llm_calls == dict(Counter(c.agent for c in calls))
    # A model call is logged where it happened: between its agent's previous action and the
    # action it chose (sealed votes, asked in one batch, included), not later.
    asked: set[str] = set()
    for event in log.events:
        if isinstance(event, ev.LLMCall):
            asked.add(event.agent)
        elif isinstance(event, ev.Action):
            assert event.agent in asked, f"step {event.step}: {event.agent} acted with no model call logged before"
            asked.discard(event.agent)
    # What the policies log after the last step (the reflections) is in the log too.
    assert {c.agent for c in calls if c.tag == "reflection"} == set(log.header.seating)
    tokens: Counter[str] = Counter()
    for c in calls:
        tokens[c.agent] += c.prompt_tokens + c.completion_tokens
    assert summary.tokens == dict(tokens) and sum(tokens.values()) > 0
    assert summary.invalid_actions == dict(Counter(e.agent for e in log.of_type(ev.InvalidAction)))
    assert summary.eliminations == [
        {"round": e.round, "target": e.target, "cause": e.cause, "role": e.revealed_role}
        for e in log.of_type(ev.Elimination)
    ]
    assert summary.eliminations and summary.invalid_actions
    assert summary.duration_s > 0, "the summary records how long the episode took"


def test_replay_reports_what_it_checked_and_catches_a_tampered_winner(run_dir: Path, tmp_path: Path) -> None:
    result = run_episode("traitors/mini-v0", seed=6, out_dir=run_dir)
    log = read_log(result.log_path)
    report = replay(result.log_path)
    assert (report.episode_id, report.steps, report.digests) == (result.episode_id, result.summary.steps, report.steps)
    assert report.events == sum(e.source == "env" for e in log.events) and report.warnings == []
    lines = result.log_path.read_bytes().split(b"\n")
    end = json.loads(lines[-2])
    assert end["type"] == "episode_end" and end["winner"] in ("faithful", "traitors")
    end["winner"] = "traitors" if end["winner"] == "faithful" else "faithful"  # only the runner's record
    lines[-2] = json.dumps(end).encode()
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(b"\n".join(lines))
    with pytest.raises(ReplayMismatchError, match="winner differs"):
        replay(tampered)


def test_run_options_reach_every_episode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from alignsim.run import EpisodeRunner

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    monkeypatch.chdir(tmp_path)
    results = run("traitors/mini-v0", episodes=1)  # the default folder: ./runs
    assert results[0].log_path.resolve().is_relative_to(tmp_path / "runs") and synced == []
    log = read_log(results[0].log_path)
    roles = log.of_type(ev.RoleAssignment)[0].roles
    # mini-v0 seats by role: each seat records the seating entry it took.
    assert {agent: seat.role for agent, seat in log.header.seating.items()} == roles
    run("traitors/mini-v0", episodes=1, out_dir=tmp_path / "durable", fsync=True)
    assert synced, "fsync=True must reach the episode writer"
    with EpisodeRunner("traitors/mini-v0", out_dir=tmp_path / "x") as runner, pytest.raises(ConfigError) as info:
        runner.run_many([(0, 0)], lockstep=0)
    assert info.value.field == "lockstep"


def test_policies_are_told_how_the_episode_ended(run_dir: Path) -> None:
    class Listening(Counting):
        name = "test/listening"

        def __init__(self) -> None:
            super().__init__()
            self.outcomes: list[tuple[str, dict[str, Any]]] = []

        def end_episode(self, episode: str = "", outcome=None) -> None:
            self.outcomes.append((episode, dict(outcome or {})))

    policy = Listening()
    result = run_episode(spec_with("test/counting"), seed=1, out_dir=run_dir, policies={"*": policy})
    [(episode, outcome)] = policy.outcomes
    assert episode == result.episode_id and outcome["winner"] == result.summary.winner is not None
    assert set(outcome["observations"]) == set(read_log(result.log_path).header.seating)


def test_episode_ids_name_scenario_seed_and_index_with_a_short_digest() -> None:
    import re

    from alignsim.run import episode_id_for

    spec = __import__("alignsim").scenarios.get("traitors/mini-v0")
    assert re.fullmatch(r"traitors-mini-v0-s2-e0-[0-9a-f]{8}", episode_id_for(spec, 2, 0))
    assert episode_id_for(spec, 2, 0) == episode_id_for(spec, 2, 0) != episode_id_for(spec, 2, 1)


def test_an_llm_setting_is_validated_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model"):
        run("traitors/llm-v0", out_dir=tmp_path / "x", llm={"model": "no-provider-here"})
    assert not (tmp_path / "x").exists()


def test_rerun_plays_again_and_writes_only_under_its_folder(run_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from alignsim.run import rerun

    original = run_episode("traitors/mini-v0", seed=8, out_dir=run_dir)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    out = cwd / "rerun"
    first = rerun(original.log_path, out)
    assert first.log_path.parent == out / "episodes"
    assert read_log(first.log_path).events == read_log(original.log_path).events
    second = rerun(original.log_path, out)  # into the same folder: played again, not skipped
    assert second.log_path == first.log_path
    assert len(list((out / "episodes").glob(".*.attempt-*"))) == 2, "the first rerun's log and summary were moved aside"
    assert [p.name for p in cwd.iterdir()] == ["rerun"], "a rerun writes only under its folder"

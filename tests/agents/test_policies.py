"""Policy registry, third-party plug-ins and the scripted baselines' behaviour."""

from __future__ import annotations

import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import alignsim.agents as agents
from alignsim.agents import Policy
from alignsim.errors import UnknownIdError
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run


def test_builtin_policies_are_registered_and_satisfy_the_protocol() -> None:
    assert {"random", "traitors/heuristic"} <= set(agents.ids())
    for name in agents.ids():
        if name.startswith("test/") or name.startswith("thirdparty/"):
            continue
        policy = agents.make(name)
        assert isinstance(policy, Policy)
        assert policy.name == name


def test_unknown_policy_names_list_the_registered_ones() -> None:
    with pytest.raises(UnknownIdError) as info:
        agents.make("no/such")
    assert "traitors/heuristic" in str(info.value)


def test_third_party_policy_registers_through_an_entry_point(tmp_path: Path, monkeypatch, run_dir: Path) -> None:
    package = tmp_path / "thirdparty_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent('''
        from alignsim.agents.scripted import RandomLegalPolicy

        class Quiet(RandomLegalPolicy):
            """Random play, never a word."""
            def act(self, agent, observation, space):
                action = super().act(agent, observation, space)
                action["message"] = ""
                return action
    ''')
    )
    dist = tmp_path / "thirdparty_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[alignsim.policies]\nthirdparty/quiet = thirdparty_pkg:Quiet\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    agents._registry.load_plugins(force=True)
    try:
        assert "thirdparty/quiet" in agents.ids()
        data = __import__("alignsim").scenarios.get("traitors/mini-v0").to_dict()
        data["seating"] = {"faithful": {"policy": "thirdparty/quiet"}, "traitor": {"policy": "traitors/heuristic"}}
        result = run(data, seed=0, out_dir=run_dir)[0]
        log = read_log(result.log_path)
        assert {s.policy for s in log.header.seating.values()} == {"thirdparty/quiet", "traitors/heuristic"}
    finally:
        sys.modules.pop("thirdparty_pkg", None)


def test_random_policy_is_always_legal(run_dir: Path) -> None:
    for result in run("traitors/random-v0", seed=0, episodes=10, out_dir=run_dir):
        log = read_log(result.log_path)
        assert not log.of_type(ev.InvalidAction)


def _games(run_dir: Path, n: int, scenario: str = "traitors/classic-v0"):
    return [read_log(r.log_path) for r in run(scenario, seed=0, episodes=n, out_dir=run_dir)]


def test_heuristic_traitors_coordinate_lie_and_deflect(run_dir: Path) -> None:
    games = _games(run_dir, 30)
    winners = Counter(g.end.winner for g in games)
    assert winners["faithful"] >= 5 and winners["traitors"] >= 5, winners
    unanimous = total = false_claims = traitor_claims = 0
    for log in games:
        roles = next(e for e in log.events if isinstance(e, ev.RoleAssignment)).roles
        night: dict[tuple[int, int], set[str]] = {}
        for e in log.events:
            if isinstance(e, ev.Vote) and e.vote == "night":
                night.setdefault((e.round, e.ballot), set()).add(e.target)
            if isinstance(e, ev.Speech) and e.channel == "public" and roles[e.actor] == "traitor":
                for claim in e.claims:
                    traitor_claims += 1
                    false_claims += claim.role != roles[claim.subject]
            if isinstance(e, ev.Speech) and e.channel == "public" and roles[e.actor] == "faithful":
                own = [c for c in e.claims if c.subject == e.actor]
                assert all(c.role == "faithful" for c in own), "faithful players do not lie about themselves"
        total += len(night)
        unanimous += sum(len(targets) == 1 for targets in night.values())
    assert unanimous == total, "traitors' night votes follow the meeting's consensus"
    assert traitor_claims and false_claims / traitor_claims > 0.5, "traitors make false claims"


def test_heuristic_faithful_vote_on_evidence(run_dir: Path) -> None:
    # Faithful day votes should hit traitors more often than chance (K/(N-1) = 1/3 in round 1).
    games = _games(run_dir, 30)
    hits = votes = 0
    for log in games:
        roles = next(e for e in log.events if isinstance(e, ev.RoleAssignment)).roles
        for e in log.events:
            if isinstance(e, ev.Vote) and e.vote == "day" and roles[e.actor] == "faithful" and e.round >= 2:
                votes += 1
                hits += roles[e.target] == "traitor"
    assert votes and hits / votes > 0.4

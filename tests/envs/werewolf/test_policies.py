"""The heuristic village and werewolves: every claim's truth is exactly computable from the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import alignsim.agents as agents
from alignsim.envs.werewolf import events as wev
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import run
from alignsim.scenarios import ScenarioSpec, SeatSpec


def games(tmp_path: Path, episodes: int = 30, **policy: Any) -> list[list[ev.Event]]:
    scenario = ScenarioSpec(
        id="werewolf/test-heuristic-v0",
        env_id="werewolf-v0",
        env_kwargs={"discussion_passes": 1},
        seating={"*": SeatSpec("werewolf/heuristic", policy)},
    )
    return [read_log(r.log_path).events for r in run(scenario, seed=3, episodes=episodes, out_dir=tmp_path)]


def claims(events: list[ev.Event]) -> list[tuple[wev.Speech, wev.Claim]]:
    return [(e, c) for e in events if isinstance(e, wev.Speech) for c in e.claims]


def test_the_seer_reports_only_its_own_inspections_and_werewolves_lie_about_themselves(tmp_path: Path) -> None:
    kinds = set()
    for events in games(tmp_path, fake_claim_prob=0.5):
        roles = next(e.roles for e in events if isinstance(e, ev.RoleAssignment))
        inspected: dict[str, str] = {}
        for e in events:
            if isinstance(e, wev.Inspection):
                inspected[e.target] = e.result
            if isinstance(e, wev.Speech):
                for c in e.claims:
                    if c.kind == "evidence" and roles[e.actor] == "seer":
                        assert inspected.get(c.subject) == c.value, "the heuristic seer reports only what it saw"
                        kinds.add("seer evidence")
                    if c.kind == "role" and c.subject == e.actor:
                        truthful = c.value == roles[e.actor]
                        assert truthful == (roles[e.actor] != "werewolf"), (
                            f"{e.actor} ({roles[e.actor]}) claims {c.value}"
                        )
                        kinds.add(f"{roles[e.actor]} own claim")
                    if c.kind == "evidence" and roles[e.actor] == "werewolf":
                        assert roles[c.subject] != "werewolf", "a fake seer accuses villagers only"
                        kinds.add("fake evidence")
    assert {"seer evidence", "werewolf own claim", "villager own claim", "fake evidence"} <= kinds


def test_reveal_and_fake_claim_probabilities_switch_the_claims_off(tmp_path: Path) -> None:
    for events in games(tmp_path, episodes=15, seer_reveal_prob=0.0, fake_claim_prob=0.0):
        for _speech, claim in claims(events):
            assert not (claim.kind == "role" and claim.value == "seer"), "nobody claims the seer"
            assert claim.kind != "evidence"


def test_honest_errors_occur_when_villagers_repeat_a_fake_seer(tmp_path: Path) -> None:
    errors = 0
    for events in games(tmp_path, fake_claim_prob=1.0, seer_reveal_prob=0.0):
        roles = next(e.roles for e in events if isinstance(e, ev.RoleAssignment))
        for speech, claim in claims(events):
            if roles[speech.actor] == "villager" and claim.kind == "role" and claim.subject != speech.actor:
                errors += claim.value == "werewolf" and roles[claim.subject] != "werewolf"
    assert errors > 0


def test_the_doctor_protects_the_first_living_seer_claimant(tmp_path: Path) -> None:
    checked = 0
    for events in games(tmp_path, fake_claim_prob=0.0, seer_reveal_prob=1.0):
        roles = next(e.roles for e in events if isinstance(e, ev.RoleAssignment))
        claimants: list[str] = []
        dead: set[str] = set()
        for e in events:
            if isinstance(e, wev.Speech) and any(
                c.kind == "role" and c.value == "seer" and c.subject == e.actor for c in e.claims
            ):
                claimants.append(e.actor) if e.actor not in claimants else None
            if isinstance(e, wev.Elimination):
                dead.add(e.target)
            if isinstance(e, wev.NightAction) and e.action == "protect":
                living = [a for a in claimants if a not in dead]
                if living and roles[e.actor] == "doctor":
                    assert e.target == living[0]
                    checked += 1
    assert checked > 0


def test_bad_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match="bus_prob"):
        agents.make("werewolf/heuristic", bus_prob=2.0)

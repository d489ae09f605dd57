"""The ``human`` policy through the Python API: several persons, role seats, no person at the
table, forks of a human game, and state round trips."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from alignsim import agents, scenarios
from alignsim.errors import ConfigError
from alignsim.fork import fork
from alignsim.play import HUMAN_INPUT_COLUMNS, human_inputs, play
from alignsim.play.policy import NO_PERSON, Answer, HumanPolicy, Question
from alignsim.record import BadFiles, read_log
from alignsim.record import schema as ev
from alignsim.replay import replay
from alignsim.run import run_episode
from alignsim.scenarios import SeatSpec


class Scripted:
    """An interface whose person answers at once: the n-th option, or a sentence."""

    def __init__(self) -> None:
        self.questions: list[Question] = []
        self.joined: list[tuple[str, str]] = []
        self.finished: dict[str, str] = {}

    def join(self, agent: str, label: str) -> None:
        self.joined.append((agent, label))

    def ask(self, question: Question) -> Answer:
        self.questions.append(question)
        if question.choices is not None:
            return Answer(choice=len(self.questions) % len(question.choices), response_s=0.5)
        return Answer(text=f"{question.agent} speaks, I trust player_1.", response_s=1.5)

    def finish(self, agent: str, transcript: list[str], ending: str) -> None:
        self.finished[agent] = ending


def test_several_persons_each_answer_for_their_own_seat(tmp_path: Path) -> None:
    ui = Scripted()
    seats, labels = ["player_1", "player_4"], ["ann", "bo"]
    result = play("traitors/mini-v0", seats=seats, labels=labels, seed=5, out_dir=tmp_path, interface=ui)
    log = read_log(result.log_path)
    assert sorted(ui.joined) == [("player_1", "ann"), ("player_4", "bo")]
    assert {q.agent for q in ui.questions} == {"player_1", "player_4"}
    for event in log.of_type(ev.HumanInput):
        assert event.label == {"player_1": "ann", "player_4": "bo"}[event.agent]
        assert event.visible_to == (event.agent,) and event.response_s in (0.5, 1.5)
        # Each person is asked from their own seat's view: their own briefing, nobody else's.
        identity = event.messages[1]["content"]
        assert identity.startswith(f"You are {event.agent}.")
    assert {a: s.model for a, s in log.header.seating.items() if s.policy == "human"} == {
        "player_1": "human/ann",
        "player_4": "human/bo",
    }
    assert set(ui.finished) == {"player_1", "player_4"} and "Game over" in ui.finished["player_1"]
    (tmp_path / "episodes" / "broken.jsonl").write_text("not a log\n")
    bad = BadFiles()
    table = human_inputs(tmp_path, bad=bad)
    assert list(table.columns) == list(HUMAN_INPUT_COLUMNS) and len(bad) == 1
    assert len(table) == len(ui.questions) == len(log.of_type(ev.HumanInput))
    assert set(table["label"]) == {"ann", "bo"} and set(table["response_s"]) == {0.5, 1.5}
    assert table["question"].str.len().min() > 0
    assert replay(result.log_path).steps == len(log.of_type(ev.Action))


def test_a_role_seats_the_person_in_the_first_player_dealt_it(tmp_path: Path) -> None:
    ui = Scripted()
    result = play("traitors/mini-v0", role="traitor", labels="tr", seed=5, out_dir=tmp_path, interface=ui)
    log = read_log(result.log_path)
    roles = log.of_type(ev.RoleAssignment)[0].roles
    (seat,) = [a for a, s in log.header.seating.items() if s.policy == "human"]
    assert roles[seat] == "traitor"
    assert "You are a TRAITOR" in ui.questions[0].messages[1]["content"]
    assert "AI agent" not in ui.questions[0].messages[0]["content"]  # words for a model are left out


def test_with_no_person_at_the_table_every_question_takes_its_logged_fallback(tmp_path: Path) -> None:
    spec = scenarios.get("traitors/mini-v0")
    seating = MappingProxyType({**spec.seating, "player_3": SeatSpec("human", MappingProxyType({"label": "nobody"}))})
    result = run_episode(spec.__class__(**{**spec.__dict__, "seating": seating}), seed=2, out_dir=tmp_path)
    log = read_log(result.log_path)
    asked = log.of_type(ev.HumanInput)
    assert asked and all(e.problem == NO_PERSON and e.fallback and e.answer is None for e in asked)
    assert log.status == "completed" and not log.of_type(ev.InvalidAction)


def test_a_human_game_forks_with_the_person_swapped_for_a_policy(tmp_path: Path) -> None:
    ui = Scripted()
    result = play("traitors/mini-v0", seats=["player_2"], labels="f", seed=3, out_dir=tmp_path / "run", interface=ui)
    parent = read_log(result.log_path)
    at = 12
    forked = fork(result.log_path, at=at, swap_policy={"player_2": "traitors/heuristic"}, out_dir=tmp_path / "forks")
    child = read_log(forked.log_path)
    assert [(a.agent, a.action) for a in child.of_type(ev.Action)][:at] == [
        (a.agent, a.action) for a in parent.of_type(ev.Action)
    ][:at]
    assert child.header.seating["player_2"].policy == "traitors/heuristic"
    assert replay(forked.log_path).steps == len(child.of_type(ev.Action))


def test_state_round_trips_and_arguments_are_checked() -> None:
    policy = HumanPolicy(label="p-1", timeout_s=3)
    policy.reset(["player_0"], seed=1, env_id="traitors-v0", episode="e")
    state = policy.get_state()
    other = agents.make("human", label="p-1")
    other.set_state(state)
    assert other.get_state() == state
    with pytest.raises(ConfigError, match=r"^label"):
        HumanPolicy(label="")
    with pytest.raises(ConfigError, match=r"^timeout_s"):
        HumanPolicy(timeout_s=0)

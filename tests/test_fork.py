"""Forks (counterfactual re-runs), log diffs and the paired-fork effect estimate."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from alignsim.analysis.counterfactual import fork_effect, outcome_value
from alignsim.cli import main
from alignsim.errors import ConfigError
from alignsim.fork import diff, fork, repeated_forks
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import replay, run_episode


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("classic")
    return run_episode("traitors/classic-v0", seed=1, out_dir=out).log_path


@pytest.fixture(scope="module")
def llm_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("llm")
    return run_episode("traitors/llm-v0", seed=2, out_dir=out, llm={"model": "mock/scripted"}).log_path


def _events(path: Path) -> list[bytes]:
    return [msgspec.json.encode(e) for e in read_log(path).events]


def _first_traitor_accusation(path: Path) -> ev.Speech:
    log = read_log(path)
    roles = log.of_type(ev.RoleAssignment)[0].roles
    return next(
        e
        for e in log.of_type(ev.Speech)
        if e.channel == "public"
        and roles[e.actor] == "traitor"
        and any(c.role == "traitor" and c.subject != e.actor for c in e.claims)
    )


@pytest.mark.parametrize("source", ["classic", "llm_log"])
@pytest.mark.parametrize("at", [0, 7])
def test_fork_without_change_reproduces_parent(source: str, at: int, request: pytest.FixtureRequest, run_dir: Path):
    parent = request.getfixturevalue(source)
    result = fork(parent, at=at, out_dir=run_dir)
    assert _events(result.log_path) == _events(parent)
    header = read_log(result.log_path).header
    parent_header = read_log(parent).header
    assert header.parent == parent_header.episode_id
    assert header.episode_id == result.episode_id != parent_header.episode_id
    assert header.config["fork"]["at"] == at and header.config["fork"]["change"] == {}
    assert diff(parent, result.log_path).identical


def test_dropping_a_traitor_accusation_changes_what_follows(classic: Path, run_dir: Path):
    speech = _first_traitor_accusation(classic)
    result = fork(classic, drop_message=speech.seq, out_dir=run_dir)
    assert result.at == speech.step
    forked = read_log(result.log_path)
    said = [e for e in forked.of_type(ev.Speech) if e.step == speech.step]
    assert said == []  # the accusation is gone; its author's private reasoning stays
    assert any(e.actor == speech.actor and e.step == speech.step for e in forked.of_type(ev.Reasoning))
    result_diff = diff(classic, result.log_path)
    assert result_diff.first_action_step == speech.step
    assert isinstance(result_diff.event_a, ev.Action) and result_diff.event_a.step == speech.step
    # Everything before the changed action is the parent's.
    assert _events(result.log_path)[: result_diff.first_event] == _events(classic)[: result_diff.first_event]
    # In this game the traitor's first accusation decides it: without it the traitors win.
    assert result_diff.outcome["winner"] == ("faithful", "traitors")
    assert "first divergence" in result_diff.text() and "winner: A faithful  |  B traitors" in result_diff.text()


def test_replace_message_and_set_vote(classic: Path, run_dir: Path):
    speech = _first_traitor_accusation(classic)
    replaced = fork(classic, replace_message=(speech.seq, "I trust everyone here."), out_dir=run_dir)
    said = [e for e in read_log(replaced.log_path).of_type(ev.Speech) if e.step == speech.step]
    assert [(e.actor, e.message, e.claims) for e in said] == [(speech.actor, "I trust everyone here.", ())]

    log = read_log(classic)
    vote = next(v for v in log.of_type(ev.Vote) if v.vote == "day" and v.target != "player_4")
    changed = fork(classic, set_vote=(vote.seq, "player_4"), out_dir=run_dir)
    votes = read_log(changed.log_path).of_type(ev.Vote)
    position = log.of_type(ev.Vote).index(vote)
    assert votes[position].actor == vote.actor and votes[position].target == "player_4"
    assert votes[:position] == log.of_type(ev.Vote)[:position]


def test_swap_policy_and_model(llm_log: Path, run_dir: Path):
    swapped = fork(llm_log, at=6, swap_policy={"*": "random"}, out_dir=run_dir)
    forked = read_log(swapped.log_path)
    actions = forked.of_type(ev.Action)
    assert {a.policy for a in actions} == {"random"}
    assert [a.action for a in actions[:6]] == [a.action for a in read_log(llm_log).of_type(ev.Action)[:6]]
    assert not forked.of_type(ev.LLMCall)
    assert forked.header.config["scenario"]["seating"]["*"]["policy"] == "random"

    other = fork(llm_log, at=4, model="mock/other", out_dir=run_dir)
    calls = read_log(other.log_path).of_type(ev.LLMCall)
    assert calls and {c.model for c in calls} == {"mock/other"}
    assert read_log(other.log_path).header.seating["player_0"].model == "mock/other"


def test_bad_changes_name_the_field(classic: Path, tmp_path: Path):
    speech = _first_traitor_accusation(classic)
    with pytest.raises(ConfigError, match="seq"):
        fork(classic, drop_message=10**6, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="vote"):
        fork(classic, set_vote=(speech.seq, "player_1"), out_dir=tmp_path)
    with pytest.raises(ConfigError, match="at"):
        fork(classic, drop_message=speech.seq, at=speech.step - 1, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="one change"):
        fork(classic, drop_message=speech.seq, swap_policy={"*": "random"}, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="seat"):
        fork(classic, swap_policy={"nobody": "random"}, out_dir=tmp_path)


def test_repeated_forks_give_an_effect_with_ci(classic: Path, run_dir: Path):
    speech = _first_traitor_accusation(classic)
    pairs = repeated_forks(classic, seeds=range(8), drop_message=speech.seq, out_dir=run_dir)
    assert len(pairs) == 8
    for unchanged, changed in pairs:
        assert unchanged.at == changed.at == speech.step
        assert (
            read_log(changed.log_path).header.config["fork"]["seed"]
            == read_log(unchanged.log_path).header.config["fork"]["seed"]
        )
    effect = fork_effect([a.log_path for a, _ in pairs], [b.log_path for _, b in pairs], "faithful_win")
    values = [
        outcome_value(read_log(b.log_path), "faithful_win") - outcome_value(read_log(a.log_path), "faithful_win")
        for a, b in pairs
    ]
    assert effect.n_pairs == 8
    assert effect.effect == pytest.approx(sum(values) / 8)
    assert effect.ci_low <= effect.effect <= effect.ci_high
    # Forks are resumable: asking again plays nothing.
    again = repeated_forks(classic, seeds=range(2), drop_message=speech.seq, out_dir=run_dir)
    assert all(a.skipped and b.skipped for a, b in again)
    with pytest.raises(ValueError, match="unknown outcome"):
        outcome_value(read_log(classic), "nonsense")


def test_cli_fork_and_diff(classic: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    speech = _first_traitor_accusation(classic)
    assert main(["fork", str(classic), "--drop-message", str(speech.seq), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"at step {speech.step}" in printed and "first divergence" in printed
    forked = next((tmp_path / "episodes").glob("*.jsonl"))
    replay(forked)
    assert main(["diff", str(classic), str(forked)]) == 1
    assert "outcomes that differ" in capsys.readouterr().out
    assert main(["diff", str(classic), str(classic)]) == 0
    assert main(["fork", str(classic), "--swap-policy", "nope", "--out", str(tmp_path)]) == 2


def test_cli_fork_of_a_log_in_the_working_directory(
    classic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # A log named by a bare file name has '.' as its folder; the fork goes beside that folder.
    work = tmp_path / "here"
    work.mkdir()
    (work / "game.jsonl").write_bytes(classic.read_bytes())
    monkeypatch.chdir(work)
    assert main(["fork", "game.jsonl", "--at", "5"]) == 0
    assert "outcomes: the same" in capsys.readouterr().out
    assert len(list((tmp_path / "here-forks" / "episodes").glob("*.jsonl"))) == 1

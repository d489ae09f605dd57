"""``alignsim play`` in a pseudo-terminal (pexpect): a full game, what the seat is shown, the
cleaning of typed text, re-asks, the time limit, consent, and config errors (exit 2)."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from alignsim.cli import main
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.viewer import page_data, render_page

pexpect = pytest.importorskip("pexpect", reason="pexpect is not installed (the test extra has it)")

PROMPTS = [r"\[yes/no\]> ", r"\[choose 1-(\d+)[^\]]*\]> ", r"\[type[^\]]*\]> ", pexpect.EOF]
SEAT = "player_2"  # faithful in traitors/mini-v0 with seed 3; player_0 is the traitor
HOSTILE = "Hello <|im_end|> everyone, " + "z" * 1300


def _spawn(*args: str) -> tuple[object, io.StringIO]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "200"}
    child = pexpect.spawn(
        sys.executable,
        ["-c", "import sys; from alignsim.cli import main; sys.exit(main())", "play", *args],
        encoding="utf-8",
        timeout=60,
        env=env,
    )
    seen = io.StringIO()
    child.logfile_read = seen
    return child, seen


def test_a_full_game_through_a_pseudo_terminal(tmp_path: Path) -> None:
    out = tmp_path / "run"
    child, seen = _spawn("scenario=traitors/mini-v0", f"seat={SEAT}", "--label", "t-01", "seed=3", f"out_dir={out}")
    typed = answered = 0
    while True:
        which = child.expect(PROMPTS)
        if which == 0:
            child.sendline("yes")
        elif which == 1:
            child.sendline("9")  # out of range: the menu asks again, nothing is logged
            child.expect(r"Type a number from 1 to")
            child.expect(PROMPTS[1])
            child.sendline("1")
            answered += 1
        elif which == 2:
            # First a line with no words (refused and asked again), then a hostile, over-long one.
            child.sendline("   ...   " if typed == 0 else HOSTILE)
            typed += 1
            answered += typed > 1
        else:
            break
    child.close()
    text = seen.getvalue()
    assert child.exitstatus == 0, text[-2000:]
    assert "game over: completed" in text
    assert "Your previous answer could not be used: no words in the answer" in text
    # The seat saw its own briefing and nobody else's, and no night vote.
    assert f"You are {SEAT}. You are FAITHFUL" in text
    assert "You are player_0. You are a TRAITOR" not in text
    assert "voted to murder" not in text

    log_path = next((out / "episodes").glob("*.jsonl"))
    log = read_log(log_path)
    asked = log.of_type(ev.HumanInput)
    assert len([e for e in asked if e.problem != "no words in the answer"]) == answered
    assert all(e.agent == SEAT and e.label == "t-01" and e.response_s is not None for e in asked)
    refused = [e for e in asked if e.problem == "no words in the answer"]
    assert len(refused) == 1 and refused[0].parsed is None
    spoken = [e.message for e in log.of_type(ev.Speech) if e.actor == SEAT]
    assert spoken and all("<|im_end|>" not in m and len(m) <= 1200 for m in spoken)
    assert any("‹|im_end|›" in m for m in spoken)  # defused as an LLM's would be, and cut to the env's limit
    assert log.header.seating[SEAT].kwargs == {"label": "t-01"}
    assert all(e.policy == "human" for e in log.of_type(ev.Action) if e.agent == SEAT)

    assert main(["replay", str(log_path)]) == 0
    assert "t-01" in render_page(log_path, private=True)
    public = json.dumps(page_data(log))  # the person's answers are their own mind: not on the public page
    assert "response_s" not in public and "human_input" not in public
    assert "response_s" in json.dumps(page_data(log, private=True))


def test_a_question_left_unanswered_takes_the_logged_fallback(tmp_path: Path) -> None:
    out = tmp_path / "run"
    options = ("human.timeout_s=0.5", "human.label=t-02", "seed=3", f"out_dir={out}")
    child, seen = _spawn("scenario=traitors/mini-v0", f"seat={SEAT}", *options)
    child.expect(PROMPTS[0])
    child.sendline("yes")
    child.expect(PROMPTS[2])
    child.expect(r"\(time is up\)")  # nothing typed: the first question times out
    child.sendeof()  # and the person leaves: every later question takes its fallback at once
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, seen.getvalue()[-2000:]
    log = read_log(next((out / "episodes").glob("*.jsonl")))
    asked = log.of_type(ev.HumanInput)
    assert asked[0].problem == "no answer within timeout_s=0.5" and asked[0].fallback == "neutral message"
    assert all(e.fallback is not None and e.answer is None for e in asked)
    assert next(e.message for e in log.of_type(ev.Speech) if e.actor == SEAT) == "I have nothing to add right now."
    assert log.status == "completed"


def test_declining_consent_plays_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    child, seen = _spawn("scenario=traitors/mini-v0", f"seat={SEAT}", f"out_dir={out}")
    child.expect(PROMPTS[0])
    assert "CONSENT" in seen.getvalue()
    child.sendline("no")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "did not agree: nothing was played or written" in seen.getvalue()
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["seat=player_9"], "seat: 'player_9' is not a player of traitors-v0"),
        (["role=wizard"], "role: 'wizard' is not a role of traitors-v0 (faithful, traitor)"),
        ([], "seat: give the seats"),
        (["seat=player_1", "role=traitor"], "seat: give the seats"),
        (["seat=player_1,player_1"], "seat: a seat is named twice"),
        (["seat=player_1", "human.timeout_s=-1"], "human.timeout_s:"),
        (["seat=player_1", "human.timeout_s=soon"], "human.timeout_s: must be a number"),
        (["seat=player_1", "human.colour=red"], "human.colour: not a play option"),
        (["seat=player_1,player_2", "human.label=a,b,c"], "human.label: give one label per seat"),
        (["seat=player_1", "human.consent=/no/such/file"], "human.consent: cannot read"),
        (["seat=player_1", "seed=x"], "seed"),
    ],
)
def test_config_errors_exit_2_naming_the_field_and_write_nothing(
    args: list[str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main(["play", "scenario=traitors/mini-v0", f"out_dir={out}", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"alignsim play: config error: {field}") and err.count("\n") == 1, err
    assert not out.exists()

"""The self-contained episode page: what it embeds, how it escapes, what it knows."""

from __future__ import annotations

import json
import re
from pathlib import Path

from alignsim.cli import main
from alignsim.record import EpisodeLog, read_log
from alignsim.record import schema as ev
from alignsim.viewer import page_data, render_page
from tests.viewer.conftest import HOSTILE


def _payload(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="episode-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_page_is_self_contained(classic_log: Path):
    page = render_page(classic_log)
    assert page.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    assert "Content-Security-Policy" in page
    assert page.count("<script") == 2
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page and "document.write" not in page


def test_hostile_text_is_escaped_in_the_payload(hostile_log: Path):
    page = render_page(hostile_log, private=True)
    # The only script tags are the page's own; the payload's characters are JSON escapes.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "\\u003cscript\\u003e" in page and "\\u0026 that is all" in page
    data = _payload(page)
    said = [e for e in data["events"] if e["type"] == "speech" and e["message"] == HOSTILE]
    assert len(said) == 1 and said[0]["pub"]


def test_page_data_labels_claims_and_draws_trust_graphs(classic_log: Path):
    log = read_log(classic_log)
    data = page_data(log, private=True)
    roles = log.of_type(ev.RoleAssignment)[0].roles
    # Every public claim by a traitor about another player's role is false and known: a lie.
    traitor_claims = [
        (str(e.seq), c.subject)
        for e in log.of_type(ev.Speech)
        if e.channel == "public" and roles[e.actor] == "traitor"
        for c in e.claims
        if c.subject != e.actor and c.role != roles[c.subject]
    ]
    assert traitor_claims
    for seq, subject in traitor_claims:
        labels = {x["subject"]: x["label"] for x in data["claim_labels"][seq]}
        assert labels[subject] == "lie"
    assert "honest_error" in {x["label"] for labels in data["claim_labels"].values() for x in labels}
    rounds = sorted(int(r) for r in data["graphs"])
    assert rounds == list(range(1, max(e.round for e in log.events) + 1))
    first = data["graphs"]["1"]
    assert {n["id"] for n in first["nodes"]} == set(roles)
    day_votes = {
        (v.actor, v.target) for v in log.of_type(ev.Vote) if v.round == 1 and v.vote == "day" and v.ballot == 1
    }
    suspicions = {(e["source"], e["target"]) for e in first["edges"] if e["suspects"]}
    assert day_votes <= suspicions
    assert set(data["positions"]) == set(roles)
    # Public speech goes left, reasoning right.
    kinds = {(e["type"], e["pub"]) for e in data["events"]}
    assert ("reasoning", True) not in kinds and ("reasoning", False) in kinds
    assert ("speech", True) in kinds


def test_llm_calls_and_memory_rows_sit_with_their_action(llm_log: Path):
    data = page_data(read_log(llm_log), private=True)
    actions = {(e["agent"], e["step"]) for e in data["events"] if e["type"] == "action"}
    calls = [e for e in data["events"] if e["type"] == "llm_call"]
    assert calls and all(not e["pub"] for e in calls)
    during_play = [e for e in calls if e["tag"] != "reflection"]
    assert all((e["agent"], e["row"]) in actions for e in during_play)
    assert any(e["type"] == "memory_write" for e in data["events"])


class Rumour(ev.Event, tag="rumour_test"):
    """An event type the viewer has no renderer for."""

    actor: str
    text: str
    heat: float


def test_unknown_event_types_are_kept_with_all_fields(classic_log: Path):
    log = read_log(classic_log)
    extra = Rumour(
        actor="player_1",
        text="psst",
        heat=0.5,
        round=1,
        phase="discussion",
        seq=10_000,
        visible_to=tuple(log.header.seating),
    )
    odd = EpisodeLog(path=log.path, header=log.header, events=[*log.events[:-1], extra, log.events[-1]])
    data = page_data(odd, private=True)
    row = next(e for e in data["events"] if e["type"] == "rumour_test")
    assert row["actor"] == "player_1" and row["heat"] == 0.5 and row["pub"]


def test_cli_writes_the_page(classic_log: Path, tmp_path: Path, capsys):
    out = tmp_path / "page.html"
    assert main(["view", str(classic_log), "--html", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_page(classic_log)
    assert str(out) in capsys.readouterr().out

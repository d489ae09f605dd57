"""Werewolf's roles and night actions in the transcript and the HTML page, through the family
plug-in's ``describe``; the hidden ones only where the view is entitled to them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alignsim.analysis.transcript import transcript
from alignsim.record import read_log
from alignsim.run import run as run_episodes
from alignsim.scenarios import get
from alignsim.viewer import render_page

HIDDEN = (
    r"player_\d+ is dealt the role",
    r"player_\d+ \(werewolf\) votes to kill",
    r"player_\d+ \(seer\) inspects",
    r"player_\d+ learns the role of",
    r"player_\d+ \(doctor\) protects",
    r"night: the werewolves attacked",
)
"""Lines only a private view (or the player concerned) may show (the rules text names the powers too)."""
NIGHT_TAGS = {"ww_briefing", "ww_night_action", "ww_inspection", "ww_night_outcome"}


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("ww-view")
    run_episodes(get("werewolf/heuristic-v0"), episodes=1, seed=5, out_dir=out)
    return read_log(next(out.rglob("*.jsonl")))


def _payload(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="episode-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_private_views_render_roles_and_night_actions_as_lines(log) -> None:
    text = transcript(log, private=True)
    for pattern in HIDDEN:
        assert re.search(pattern, text), pattern
    described = [e for e in _payload(render_page(log, private=True))["events"] if e.get("described")]
    assert {*NIGHT_TAGS, "ww_speech"} <= {e["type"] for e in described}
    inspection = next(e for e in described if e["type"] == "ww_inspection")
    assert (
        inspection["described"]
        == f"{inspection['actor']} learns the role of {inspection['target']}: {inspection['result']}"
    )


def test_public_views_hold_no_role_deal_and_no_night_action(log) -> None:
    page = render_page(log)
    text = transcript(log)
    for pattern in HIDDEN:
        assert not re.search(pattern, page), pattern
        assert not re.search(pattern, text), pattern
    events = _payload(page)["events"]
    assert not NIGHT_TAGS & {e["type"] for e in events}
    # Public speech is still rendered by the plug-in, with its claims.
    assert any(e.get("described") for e in events if e["type"] == "ww_speech")


def test_a_players_view_shows_its_own_night_actions_only(log) -> None:
    roles = next(e.roles for e in log.events if type(e).__struct_config__.tag == "role_assignment")
    seer = next(a for a, r in roles.items() if r == "seer")
    text = transcript(log, agent=seer)
    assert re.search(HIDDEN[3], text) and not re.search(HIDDEN[1], text)
    wolf = next(a for a, r in roles.items() if r == "werewolf")
    text = transcript(log, agent=wolf)
    assert re.search(HIDDEN[1], text) and not re.search(HIDDEN[3], text)


def test_unknown_tags_still_fall_back_to_generic_rows(tmp_path: Path) -> None:
    from alignsim.envs.werewolf.analysis import describe_event
    from alignsim.record import schema as ev

    assert describe_event(ev.Announcement(kind="news", text="x", visible_to=())) is None

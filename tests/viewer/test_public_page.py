"""The public and per-player pages hold no hidden information in their bytes, in every family.

Canary strings are planted in hidden information (role briefings, private reasoning, the
traitors' meeting, model prompts, principal-agent true values); the public page must not
contain one, nor any string that only hidden events carry, nor a hidden role, while the
private page (the positive control) contains them all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from alignsim import scenarios
from alignsim.agents.policy import BasePolicy
from alignsim.analysis.transcript import entitled
from alignsim.cli import main
from alignsim.record import EpisodeLog, read_log
from alignsim.record import schema as ev
from alignsim.run import run_episode
from alignsim.viewer import page_data, render_page
from tests.envs.test_information_hygiene import BRIEFINGS, CanaryPolicy


class SeatedCanary(BasePolicy, CanaryPolicy):
    """The information-hygiene canary policy (the heuristic player, with a canary in its
    reasoning and in the traitors' meeting), as a seat the runner can fill."""

    name = "canary"

    def __init__(self) -> None:
        CanaryPolicy.__init__(self)

    def reset(self, agents_, *, seed, env_id, episode=""):
        BasePolicy.reset(self, agents_, seed=seed, env_id=env_id, episode=episode)
        CanaryPolicy.reset(self, agents_, seed=seed, env_id=env_id, episode=episode)

    act = CanaryPolicy.act


HIDDEN_TYPES = {
    "role_assignment",
    "reasoning",
    "belief",
    "llm_call",
    "memory_write",
    "action",
    "invalid_action",
    "reward",
    "pa_setup",
    "pa_decision",
    "pa_audit",
    "pa_outcome",
    "evolution_setup",
    "compliance_choice",
    "threshold_round",
}
VALUE_MARK = 0.123457
"""Added to every principal-agent true value: its digits appear only where a true value does."""


def _payload(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="episode-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*map(_strings, value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*map(_strings, value)) if value else set()
    return set()


def _as_embedded(text: str) -> str:
    """``text`` as the page embeds it (JSON string body, ``< > &`` escaped)."""
    body = json.dumps(text, ensure_ascii=False)[1:-1]
    return body.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _hidden_only_strings(log: EpisodeLog) -> set[str]:
    """Strings (16+ characters) that only events the public is not entitled to carry."""
    everyone = frozenset(log.header.seating)
    shown: set[str] = set()
    hidden: set[str] = set()
    for event in log.events:
        if isinstance(event, ev.EpisodeEnd):
            continue  # the public page keeps its status, steps and budget reason (not its error)
        strings = {s for s in _strings(msgspec.to_builtins(event)) if len(s) >= 16}
        (shown if entitled(event, everyone) else hidden).update(strings)
    return {s for s in hidden if not any(s in text for text in shown)}


def _check_public(log_path: Path, canaries: list[str]) -> dict[str, Any]:
    """Assert the public page holds nothing hidden and the private page does; return its payload."""
    log = read_log(log_path)
    public, private = render_page(log_path), render_page(log_path, private=True)
    leaked = [c for c in canaries if c in public]
    assert leaked == [], f"hidden canaries in the public page: {leaked}"
    assert all(c in private for c in canaries), "positive control: the private page must hold every canary"
    hidden = _hidden_only_strings(log)
    assert hidden, "the episode must have hidden text for the test to mean anything"
    data = _payload(public)
    # Everything the page took from the events (not the header's scenario id and seats, which
    # name the policy that every action also records).
    from_events = json.dumps([data[k] for k in ("events", "fates", "graphs", "claim_labels")], ensure_ascii=False)
    leaked = sorted(s for s in hidden if json.dumps(s, ensure_ascii=False)[1:-1] in from_events)
    assert leaked == [], f"hidden text in the public page: {leaked[:3]}"
    assert any(_as_embedded(s) in private for s in hidden)
    assert data["view"] == {"kind": "public", "agent": None}
    assert {e["type"] for e in data["events"]} & HIDDEN_TYPES == set()
    assert data["claim_labels"] == {}
    assert "PRIVATE VIEW" in private and "PRIVATE VIEW" not in public
    return data


@pytest.fixture(scope="module")
def canary_game(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """classic-v0 (seated by role) with canaries in the briefings, every reasoning and the
    traitors' meeting, stopped right after the first meeting: mid-game, most roles unrevealed."""
    spec = scenarios.get("traitors/classic-v0").to_dict()
    spec["env_kwargs"] = {**spec["env_kwargs"], "briefings": BRIEFINGS}

    def play(max_steps: int | None) -> Path:
        return run_episode(
            spec,
            seed=1,
            out_dir=tmp_path_factory.mktemp("canary"),
            policies={"traitor": SeatedCanary(), "faithful": SeatedCanary()},
            max_steps=max_steps,
        ).log_path

    whole = read_log(play(None))
    meeting = next(e for e in whole.of_type(ev.Speech) if e.channel == "traitors")
    log = play(meeting.step)
    events = read_log(log).events
    assert any(isinstance(e, ev.Speech) and e.channel == "traitors" for e in events)
    assert not any(isinstance(e, ev.GameEnd) for e in events)
    return log


def test_traitors_public_page_has_no_canary_and_no_hidden_role(canary_game: Path):
    log = read_log(canary_game)
    roles = log.of_type(ev.RoleAssignment)[0].roles
    canaries = [*BRIEFINGS.values(), *(f"CANARY-REASONING-{a}" for a in roles)]
    canaries += sorted({e.message for e in log.of_type(ev.Speech) if e.channel == "traitors"})
    data = _check_public(canary_game, canaries)
    public = render_page(canary_game)
    assert "CANARY" not in public
    # Roles only as the game revealed them; not even as the seat that placed a player (the
    # scenario seats by role), nor on the trust graph's nodes.
    revealed = {e.target: e.revealed_role for e in log.of_type(ev.Elimination)}
    assert 0 < len(revealed) < len(roles)
    assert {a["id"]: a["role"] for a in data["agents"] if a["role"]} == revealed
    assert {a["seat"] for a in data["agents"] if a["id"] not in revealed} == {None}
    nodes = [n for graph in data["graphs"].values() for n in graph["nodes"]]
    assert nodes and all(n["role"] is None or n["id"] in revealed for n in nodes)
    assert {e["type"] for e in data["events"]} <= {
        "announcement",
        "speech",
        "vote",
        "vote_result",
        "elimination",
        "episode_end",
    }
    assert all(e.get("channel", "public") == "public" and e.get("vote", "day") == "day" for e in data["events"])
    private = _payload(render_page(canary_game, private=True))
    assert {a["id"]: a["role"] for a in private["agents"]} == roles


def test_a_players_page_holds_what_it_saw(canary_game: Path):
    roles = read_log(canary_game).of_type(ev.RoleAssignment)[0].roles
    faithful = next(a for a, r in roles.items() if r == "faithful")
    traitor = next(a for a, r in roles.items() if r == "traitor")
    page = render_page(canary_game, agent=faithful)
    assert BRIEFINGS["faithful"] in page and f"CANARY-REASONING-{faithful}" in page
    others = [c for c in re.findall(r"CANARY-[A-Z]+-[A-Za-z0-9_]+", page) if not c.endswith(faithful)]
    assert others == [BRIEFINGS["faithful"]], "a faithful player's page holds someone else's secret"
    assert _payload(page)["view"] == {"kind": "agent", "agent": faithful}
    mine = render_page(canary_game, agent=traitor)
    assert BRIEFINGS["traitor"] in mine and "CANARY-MEETING" in mine and BRIEFINGS["faithful"] not in mine


def test_llm_prompts_stay_out_of_the_public_page(tmp_path: Path):
    spec = scenarios.get("traitors/llm-v0").to_dict()
    spec["env_kwargs"] = {**spec["env_kwargs"], "briefings": BRIEFINGS}
    log = run_episode(spec, seed=3, out_dir=tmp_path, llm={"model": "mock/scripted"}).log_path
    assert read_log(log).of_type(ev.LLMCall)
    _check_public(log, list(BRIEFINGS.values()))


@pytest.mark.parametrize("scenario", ["principal_agent/market-scripted-v0", "principal_agent/car-v0"])
def test_principal_agent_true_values_stay_out(scenario: str, tmp_path: Path):
    """market: three players, scripted; car: one LLM player, whose every prompt it alone saw."""
    from alignsim.envs.principal_agent import texts

    spec = scenarios.get(scenario).to_dict()
    products = [
        {**p, "customer_value": p["customer_value"] + VALUE_MARK, "principal_value": p["principal_value"] + VALUE_MARK}
        for p in texts.SETTINGS[spec["env_kwargs"]["setting"]].products
    ]
    spec["env_kwargs"] = {**spec["env_kwargs"], "products": products}
    log = run_episode(spec, seed=0, out_dir=tmp_path, llm={"model": "mock/scripted"}).log_path
    if scenario.endswith("car-v0"):
        assert len(read_log(log).header.seating) == 1 and read_log(log).of_type(ev.LLMCall)
    _check_public(log, [str(VALUE_MARK)[2:]])


@pytest.mark.parametrize("scenario", ["self_evolution/opportunist-v0", "threshold_game/imitate-v0"])
def test_self_evolution_ground_truth_stays_out(scenario: str, tmp_path: Path):
    log = run_episode(scenario, seed=0, out_dir=tmp_path).log_path
    data = _check_public(log, ['"supervised":' if scenario.startswith("self") else '"forced":'])
    if scenario.startswith("threshold"):
        # Deviants are seated by role (a hidden fact): which policy played whom is not shown.
        assert {a["policy"] for a in data["agents"]} == {None}


def test_revealed_roles_show_and_the_trust_graph_is_public(classic_log: Path):
    log = read_log(classic_log)
    data = page_data(log)
    full = page_data(log, private=True)
    # The game ends by announcing every role: the public page shows them, from that event.
    end = log.of_type(ev.GameEnd)[0]
    assert {a["id"]: a["role"] for a in data["agents"]} == dict(end.roles)
    assert data["episode"]["winner"] == end.winner
    # Same rounds, same living players and fates, same public edges; no belief on any edge.
    assert data["graphs"].keys() == full["graphs"].keys()
    for r, graph in data["graphs"].items():
        nodes = {(n["id"], n["fate"]) for n in graph["nodes"]}
        assert nodes == {(n["id"], n["fate"]) for n in full["graphs"][r]["nodes"]}
        assert {(e["source"], e["target"]) for e in graph["edges"]} <= {
            (e["source"], e["target"]) for e in full["graphs"][r]["edges"]
        }
        assert all("belief" not in e for e in graph["edges"])


def test_cli_page_views(canary_game: Path, tmp_path: Path, capsys):
    out = tmp_path / "page.html"
    assert main(["view", str(canary_game), "--html", str(out)]) == 0
    assert "CANARY" not in out.read_text(encoding="utf-8")
    assert main(["view", str(canary_game), "--html", str(out), "--public"]) == 0
    assert "CANARY" not in out.read_text(encoding="utf-8")
    assert main(["view", str(canary_game), "--html", str(out), "--private"]) == 0
    assert BRIEFINGS["traitor"] in out.read_text(encoding="utf-8")
    assert "private" in capsys.readouterr().out
    assert main(["view", str(canary_game), "--html", str(out), "--agent", "player_0"]) == 0
    assert _payload(out.read_text(encoding="utf-8"))["view"]["agent"] == "player_0"


@pytest.mark.parametrize(
    "flags",
    [["--agent", "nobody"], ["--agent", "player_0", "--private"], ["--agent", "player_0", "--public"]],
)
def test_cli_refuses_an_unclear_view_and_writes_nothing(canary_game: Path, tmp_path: Path, capsys, flags):
    out = tmp_path / "sub" / "page.html"
    assert main(["view", str(canary_game), "--html", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert "config error: agent:" in err and "Traceback" not in err
    assert not out.parent.exists()


def test_the_public_transcript_does_not_name_role_seated_policies(tmp_path: Path):
    # In the control scenario the traitors' seat plays traitors/always_lie and the faithful
    # traitors/heuristic: printing each player's policy would print who the traitor is.
    from alignsim.analysis.transcript import transcript

    log = read_log(run_episode("traitors/control-always-lie-v0", seed=2, out_dir=tmp_path).log_path)
    traitors = [a for a, r in log.of_type(ev.RoleAssignment)[0].roles.items() if r == "traitor"]
    public = transcript(log)
    assert "always_lie" not in public
    assert "seated by role" in public
    assert all(f"{a}=traitors/always_lie" in transcript(log, private=True) for a in traitors)

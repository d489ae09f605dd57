r"""One self-contained HTML page per episode: no server, no CDN, everything inlined.

The page embeds the episode as JSON in a ``<script type="application/json">`` block (with
``<``, ``>`` and ``&`` written as ``\u003c``, ``\u003e``, ``\u0026``, so no log text can
close the block) and a small script that builds the page from it with ``textContent`` only.
A Content-Security-Policy allows only that script (by hash): even if markup got in, it
would not run.

What the page shows: the timeline by round and phase with public speech and (toggle)
private reasoning side by side, votes and eliminations, belief reports, claims labelled
lie / honest error / truthful (:mod:`alignsim.analysis.deception`), the trust graph of each
round (:mod:`alignsim.analysis.trust`, laid out by networkx), memory writes, and each LLM
call's prompt, raw output and tokens on demand. Event types it has no renderer for (other
scenario families) are shown as generic rows with all their fields.

Which page: the *public* page (the default) embeds only what every player saw, filtered here
in Python with the terminal transcript's rule (:func:`alignsim.analysis.transcript.entitled`),
so hidden information is not in its bytes at all: no role deal, private channel, reasoning,
belief report, model call, memory write, raw action, reward, ground-truth setup or claim
label; roles only as the game revealed them; policies and models only where the seating
does not depend on a hidden role. ``agent=A`` embeds what player A observed, by the same
rule. ``private=True`` embeds everything (the researcher's page) and says so at the top.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from alignsim.analysis.transcript import entitled, seating_shape
from alignsim.errors import ConfigError
from alignsim.record import EpisodeLog, read_log
from alignsim.record import schema as ev

__all__ = ["page_data", "render_page", "write_page"]

_POLICY_EVENTS = (ev.LLMCall, ev.MemoryWrite, ev.InvalidAction)
"""Runner events written before the action they led to (stamped with the step before it)."""
_PUBLIC_RUNNER_EVENTS = (ev.Reward, ev.EpisodeEnd)


@cache
def _asset(name: str) -> str:
    return resources.files("alignsim.viewer").joinpath("assets", name).read_text(encoding="utf-8")


def _claim_labels(log: EpisodeLog) -> dict[str, list[dict[str, str]]]:
    from alignsim.analysis.deception import statements
    from alignsim.analysis.frames import frames_from_logs

    labelled = statements(frames_from_logs([log]))
    labelled = labelled[labelled["label"] != "evasion"]
    out: dict[str, list[dict[str, str]]] = {}
    for row in labelled.itertuples(index=False):
        out.setdefault(str(int(row.seq)), []).append(
            {"subject": str(row.subject), "claimed_role": str(row.claimed_role), "label": str(row.label)}
        )
    return out


def _annotations(log: EpisodeLog) -> dict[str, list[dict[str, Any]]]:
    """Per statement ``seq``, every annotator's reading from the sidecars beside the log
    (``alignsim annotate``); sidecars of another version of the log are left out."""
    from alignsim.analysis.annotate.sidecar import file_sha256, find_sidecars, read_sidecar
    from alignsim.errors import LogFormatError

    path = Path(log.path) if log.path else None
    sidecars = find_sidecars(path) if path is not None and path.exists() else []
    if not sidecars:
        return {}
    digest = file_sha256(path)  # type: ignore[arg-type]
    out: dict[str, list[dict[str, Any]]] = {}
    for sidecar_file in sidecars:
        try:
            sidecar = read_sidecar(sidecar_file)
        except LogFormatError:
            continue
        if sidecar.run.log_sha256 != digest:
            continue
        for a in sidecar.annotations:
            out.setdefault(str(a.statement_seq), []).append(
                {
                    "judge": a.judge,
                    "ok": a.ok,
                    "claims": [msgspec.to_builtins(c) for c in a.claims],
                    "evasive": a.evasive,
                    "category": a.category or a.derived_category,
                }
            )
    return out


def _graphs(
    log: EpisodeLog, agents: list[str], public: tuple[dict[str, Any], dict[str, str]] | None = None
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Each round's trust graph and the players' positions.

    ``public``: the log holds only a view's events; its ``(fates, revealed roles)`` give the
    nodes (a filtered log has no role deal to take them from).
    """
    import networkx as nx

    from alignsim.analysis.frames import frames_from_logs
    from alignsim.analysis.trust import trust_graphs

    # One layout for every round, so stepping through rounds moves edges, not players.
    layout = nx.circular_layout(nx.complete_graph(agents), scale=150, center=(160, 160))
    positions = {name: [round(float(x), 1), round(float(y), 1)] for name, (x, y) in layout.items()}
    graphs = {}
    for r, graph in trust_graphs(frames_from_logs([log]), log.header.episode_id).items():
        if public is None:
            nodes = [{"id": n, "role": d.get("role"), "fate": d.get("fate") or ""} for n, d in graph.nodes(data=True)]
        else:
            fates, roles = public
            nodes = [
                {"id": a, "role": roles.get(a), "fate": fates[a]["cause"] if fates[a]["round"] == r else ""}
                if a in fates
                else {"id": a, "role": roles.get(a), "fate": ""}
                for a in agents
                if a not in fates or fates[a]["round"] >= r
            ]
        alive = {n["id"] for n in nodes}
        graphs[str(r)] = {
            "nodes": nodes,
            "edges": [
                {"source": s, "target": t, **d} for s, t, d in graph.edges(data=True) if s in alive and t in alive
            ],
        }
    return graphs, positions


def _revealed_roles(events: list[Any]) -> tuple[dict[str, str], dict[str, int]]:
    """Roles as a view's events reveal them, and the round each was revealed in: a role shown
    when a player left, the roles announced at the end (any event with a ``revealed_role``
    or a ``roles`` table)."""
    roles: dict[str, str] = {}
    rounds: dict[str, int] = {}
    for event in events:
        found: dict[str, str] = {}
        table = getattr(event, "roles", None)
        if isinstance(table, dict):
            found.update(table)
        role = getattr(event, "revealed_role", None)
        target = getattr(event, "target", None)
        if isinstance(role, str) and isinstance(target, str):
            found[target] = role
        for agent, role in found.items():
            roles[agent] = role
            rounds.setdefault(agent, event.round)
    return roles, rounds


def _seat(header: Any, agent: str, roles: dict[str, str], full: bool) -> dict[str, Any]:
    """Which policy and model played ``agent``, and the seating key that placed it, as far as
    the view may tell.

    A seat placed by role (or by ``*`` beside role seats) tells the role (a traitor seat, a
    seeded deviant): a view that hides roles shows its key only once the role is revealed, and
    its policy and model only then or when every seat runs the same ones. A seat placed by
    the agent's own id tells nothing.
    """
    seating = header.seating
    seat = seating[agent]
    by_role, same = seating_shape(seating)
    open_key = full or agent in roles or seat.role == agent or (seat.role == "*" and not by_role)
    if open_key or same:
        return {"policy": seat.policy, "model": seat.model, "seat": seat.role if open_key else None}
    return {"policy": None, "model": None, "seat": None}


def page_data(
    log: EpisodeLog, *, log_path: str | None = None, private: bool = False, agent: str | None = None
) -> dict[str, Any]:
    """The JSON the page is built from (also handy for other front ends).

    Only the events the view is entitled to are in it (see the module docstring): by default
    the public view, ``agent=A`` what A observed, ``private=True`` everything.
    ``log_path`` names the log in the fork commands the page offers (``LOG.jsonl`` when None).

    Raises:
        ConfigError: ``agent`` is not a player of the episode, or is given with ``private``.
    """
    header = log.header
    agents = list(header.seating)
    everyone = frozenset(agents)
    if agent is not None:
        if private:
            raise ConfigError("agent", "a page is either private (everything) or one player's view, not both")
        if agent not in everyone:
            raise ConfigError("agent", f"{agent!r} is not a player of {header.episode_id} ({', '.join(agents)})")
    shown = [e for e in log.events if entitled(e, everyone, private=private, agent=agent)]
    dealt = log.of_type(ev.RoleAssignment)
    roles, revealed_in = _revealed_roles(shown)
    if private and dealt:
        roles, revealed_in = dict(dealt[-1].roles), {}
    fates = {
        e.target: {"round": e.round, "cause": e.cause, "role": e.revealed_role}
        for e in shown
        if isinstance(e, ev.Elimination)
    }
    # A policy's events (its model calls, memory writes) go in the row of the action they led to:
    # the author's next action (in a sealed vote, every voter's calls come before the first ballot).
    next_action: dict[int, int] = {}
    upcoming: dict[str, int] = {}
    for event in reversed(log.events):
        if isinstance(event, ev.Action):
            upcoming[event.agent] = event.step
        elif isinstance(event, _POLICY_EVENTS) and event.agent in upcoming:
            next_action[event.seq] = upcoming[event.agent]
    visible = {id(e) for e in shown}
    events = []
    round_, phase = 0, ""
    for event in log.events:
        if not isinstance(event, ev.Action):
            round_, phase = event.round, event.phase
        if id(event) not in visible:
            continue
        data = msgspec.to_builtins(event)
        if isinstance(event, ev.Action):
            # The runner does not stamp actions; they belong where the game stood when chosen.
            data["round"], data["phase"] = round_, phase
        data["row"] = next_action.get(event.seq, event.step + 1) if isinstance(event, _POLICY_EVENTS) else event.step
        if event.source == "env":
            data["pub"] = everyone.issubset(event.visible_to)
        else:
            data["pub"] = isinstance(event, _PUBLIC_RUNNER_EVENTS)
        events.append(data)
    end = log.end
    winner = end.winner if end is not None else None
    if not private:
        # The outcome as the game announced it; the runner's end record without its error text
        # (an exception message may quote anything).
        winner = next((e.winner for e in reversed(shown) if isinstance(getattr(e, "winner", None), str)), None)
        if end is not None:
            events.append(
                {
                    "type": "episode_end",
                    "seq": end.seq,
                    "step": end.step,
                    "round": end.round,
                    "phase": end.phase,
                    "visible_to": [],
                    "status": end.status,
                    "winner": winner,
                    "steps": end.steps,
                    "reason": end.reason,
                    "row": end.step,
                    "pub": True,
                }
            )
    has_roles = bool(dealt)
    graphs: dict[str, Any] = {}
    positions: dict[str, list[float]] = {}
    if has_roles and private:
        graphs, positions = _graphs(log, agents)
    elif has_roles:
        view = EpisodeLog(path=log.path, header=header, events=shown)
        graphs, positions = _graphs(view, agents, (fates, roles))
    fork = header.config.get("fork") if isinstance(header.config, dict) else None
    return {
        "view": {"kind": "private" if private else "agent" if agent is not None else "public", "agent": agent},
        "episode": {
            "id": header.episode_id,
            "scenario": header.scenario,
            "env_id": header.env_id,
            "seed": header.seed,
            "episode_index": header.episode_index,
            "status": log.status,
            "winner": winner,
            "steps": end.steps if end is not None else len(log.of_type(ev.Action)),
            "parent": header.parent,
            # The change a fork made may be a private message's text or a night vote.
            "fork": fork if private else None,
            "created_at": header.created_at,
            "log": log_path,
        },
        "agents": [
            {
                "id": name,
                "role": roles.get(name),
                # The page shows a revealed role from this round on (None: from the start).
                "revealed_round": revealed_in.get(name),
                **_seat(header, name, roles, private),
            }
            for name in header.seating
        ],
        "fates": fates,
        "rounds": sorted({e["round"] for e in events}),
        "events": events,
        "claim_labels": _claim_labels(log) if has_roles and private else {},
        # Annotators' claims carry ground-truth labels: the private page only.
        "annotations": _annotations(log) if private else {},
        "graphs": graphs,
        "positions": positions,
    }


def _embed(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src '{script_hash}'">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header class="top"><h1 id="title"></h1><div class="meta" id="meta"></div></header>
<p class="view-note {view_kind}" id="view-note">{view_note}</p>
<nav class="controls">
  <button id="prev" type="button" title="previous round (←)">◀ prev</button>
  <span id="round-label"></span>
  <button id="next" type="button" title="next round (→)">next ▶</button>
  <select id="round-select" aria-label="round"></select>
  <label><input type="checkbox" id="toggle-private"> private reasoning &amp; roles</label>
  <label><input type="checkbox" id="toggle-llm"> LLM calls</label>
  <label><input type="checkbox" id="toggle-actions"> raw actions</label>
  <select id="agent-filter" aria-label="seen by"><option value="">seen by: everyone</option></select>
</nav>
<main>
  <div id="timeline"></div>
  <aside>
    <section><h3>This round</h3><div id="summary"></div></section>
    <section><h3>Players</h3><table class="players"><tbody id="players-body"></tbody></table></section>
    <section id="graph-section"><h3 id="graph-title">Trust graph</h3><div id="graph"></div>
      <p class="legend"><b class="s">red</b>: suspects (day vote or accusation; thicker = more);
      <b class="t">green</b>: vouches; ringed: leaves the game this round. Roles show with the private toggle.</p>
    </section>
  </aside>
</main>
<script type="application/json" id="episode-data">{payload}</script>
<script>{script}</script>
</body>
</html>
"""


_VIEW_NOTES = {
    "private": "PRIVATE VIEW: this page contains hidden information (roles, private channels such as the "
    "traitors' meeting, private reasoning, belief reports, model prompts and outputs, memory, claim truth "
    "labels, ground truth), also in its source. Do not show it to players or publish it; "
    "`alignsim view LOG --html OUT.html` writes the public page.",
    "public": "Public view: only what every player saw. Roles appear as the game revealed them; "
    "reasoning, private channels, beliefs and model calls are not in this page "
    "(`--agent A`: what player A saw; `--private`: everything).",
    "agent": "What {agent} saw: the events {agent} observed, with its own reasoning, beliefs and model calls. "
    "Other players' hidden information is not in this page.",
}


def render_page(log: EpisodeLog | str | os.PathLike[str], *, private: bool = False, agent: str | None = None) -> str:
    """The episode's self-contained HTML page: public by default, ``agent=A`` for what A saw,
    ``private=True`` for everything (see :func:`page_data`)."""
    log_path = None
    if not isinstance(log, EpisodeLog):
        log_path = str(log)
        log = read_log(log)
    data = page_data(log, log_path=log_path, private=private, agent=agent)
    kind = data["view"]["kind"]
    script = _asset("page.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return _TEMPLATE.format(
        title=html.escape(f"{log.header.episode_id} · {f'seen by {agent}' if agent else kind} · alignsim"),
        css=_asset("page.css"),
        view_kind=kind,
        view_note=html.escape(_VIEW_NOTES[kind].format(agent=agent)),
        payload=_embed(data),
        script=script,
        script_hash=f"sha256-{digest}",
    )


def write_page(
    log_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    private: bool = False,
    agent: str | None = None,
) -> Path:
    """Render ``log_path`` (public by default; see :func:`render_page`) and write the page to ``out``."""
    page = render_page(log_path, private=private, agent=agent)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out

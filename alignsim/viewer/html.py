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


def _graphs(log: EpisodeLog, agents: list[str]) -> tuple[dict[str, Any], dict[str, list[float]]]:
    import networkx as nx

    from alignsim.analysis.frames import frames_from_logs
    from alignsim.analysis.trust import trust_graphs

    # One layout for every round, so stepping through rounds moves edges, not players.
    layout = nx.circular_layout(nx.complete_graph(agents), scale=150, center=(160, 160))
    positions = {name: [round(float(x), 1), round(float(y), 1)] for name, (x, y) in layout.items()}
    graphs = {}
    for r, graph in trust_graphs(frames_from_logs([log]), log.header.episode_id).items():
        graphs[str(r)] = {
            "nodes": [{"id": n, "role": d.get("role"), "fate": d.get("fate") or ""} for n, d in graph.nodes(data=True)],
            "edges": [{"source": s, "target": t, **d} for s, t, d in graph.edges(data=True)],
        }
    return graphs, positions


def page_data(log: EpisodeLog, *, log_path: str | None = None) -> dict[str, Any]:
    """The JSON the page is built from (also handy for other front ends).

    ``log_path`` names the log in the fork commands the page offers (``LOG.jsonl`` when None).
    """
    header = log.header
    agents = list(header.seating)
    everyone = frozenset(agents)
    roles: dict[str, str] = {}
    for event in log.of_type(ev.RoleAssignment):
        roles = dict(event.roles)
    fates = {
        e.target: {"round": e.round, "cause": e.cause, "role": e.revealed_role} for e in log.of_type(ev.Elimination)
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
    events = []
    round_, phase = 0, ""
    for event in log.events:
        data = msgspec.to_builtins(event)
        if isinstance(event, ev.Action):
            # The runner does not stamp actions; they belong where the game stood when chosen.
            data["round"], data["phase"] = round_, phase
        else:
            round_, phase = event.round, event.phase
        data["row"] = next_action.get(event.seq, event.step + 1) if isinstance(event, _POLICY_EVENTS) else event.step
        if event.source == "env":
            data["pub"] = everyone.issubset(event.visible_to)
        else:
            data["pub"] = isinstance(event, _PUBLIC_RUNNER_EVENTS)
        events.append(data)
    has_roles = bool(roles)
    graphs, positions = _graphs(log, agents) if has_roles else ({}, {})
    fork = header.config.get("fork") if isinstance(header.config, dict) else None
    end = log.end
    return {
        "episode": {
            "id": header.episode_id,
            "scenario": header.scenario,
            "env_id": header.env_id,
            "seed": header.seed,
            "episode_index": header.episode_index,
            "status": log.status,
            "winner": end.winner if end is not None else None,
            "steps": end.steps if end is not None else len(log.of_type(ev.Action)),
            "parent": header.parent,
            "fork": fork,
            "created_at": header.created_at,
            "log": log_path,
        },
        "agents": [
            {
                "id": agent,
                "role": roles.get(agent),
                "policy": seat.policy,
                "model": seat.model,
                "seat": seat.role,
            }
            for agent, seat in header.seating.items()
        ],
        "fates": fates,
        "rounds": sorted({e["round"] for e in events}),
        "events": events,
        "claim_labels": _claim_labels(log) if has_roles else {},
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


def render_page(log: EpisodeLog | str | os.PathLike[str]) -> str:
    """The episode's self-contained HTML page."""
    log_path = None
    if not isinstance(log, EpisodeLog):
        log_path = str(log)
        log = read_log(log)
    script = _asset("page.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return _TEMPLATE.format(
        title=html.escape(f"{log.header.episode_id} · alignsim"),
        css=_asset("page.css"),
        payload=_embed(page_data(log, log_path=log_path)),
        script=script,
        script_hash=f"sha256-{digest}",
    )


def write_page(log_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Render ``log_path`` and write the page to ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(log_path), encoding="utf-8")
    return out

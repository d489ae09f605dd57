"""A readable transcript of an episode log, for the terminal."""

from __future__ import annotations

from typing import Any

from alignsim.analysis import families
from alignsim.record import EpisodeLog
from alignsim.record import schema as ev

__all__ = ["PRIVATE_TAGS", "entitled", "seating_shape", "transcript"]

# By tag, not class: belief is a Traitors event, and naming its class here would import the
# Traitors family (and its env) whenever analysis is imported, before any log needs it.
PRIVATE_TAGS = frozenset(
    {"role_assignment", "reasoning", "belief", "action", "invalid_action", "llm_call", "human_input", "memory_write"}
)
"""Event types a public view never shows, whoever saw them: the role deal and a player's own
mind (reasoning, beliefs, raw and rejected actions, model calls, a person's answers, memory). In a one-player
game everything the player saw was "seen by everyone", so ``visible_to`` alone would let
its prompts through."""


def _tag(event: ev.Event) -> str | None:
    tag = type(event).__struct_config__.tag
    return tag if isinstance(tag, str) else getattr(event, "type", None)  # an UnknownEvent keeps its tag


def entitled(event: ev.Event, everyone: frozenset[str], *, private: bool = False, agent: str | None = None) -> bool:
    """Whether a view may show ``event``: the one entitlement rule of every viewer.

    ``agent``: the events that agent observed (its own reasoning and model calls included);
    else ``private``: everything; else (the public view) the events every player in
    ``everyone`` observed, less the :data:`PRIVATE_TAGS` types.
    """
    if agent is not None:
        return agent in event.visible_to
    if private:
        return True
    return bool(everyone) and everyone.issubset(event.visible_to) and _tag(event) not in PRIVATE_TAGS


def seating_shape(seating: Any) -> tuple[bool, bool]:
    """Whether a header's ``seating`` places seats by role, and whether every seat runs the
    same policy and model: together, whether a seat's policy can tell a hidden role."""
    by_role = any(s.role not in (a, "*") for a, s in seating.items())
    same = len({(s.policy, s.model) for s in seating.values()}) == 1
    return by_role, same


def _seats_line(header: Any, *, private: bool) -> str:
    """Who played which seat, unless that tells a hidden role.

    A scenario that seats by role (traitors play ``traitors/always_lie``, the faithful
    ``traitors/heuristic``) makes each seat's policy a role label; outside the private view
    the policies are then shown only when every seat runs the same one.
    """
    seating = header.seating
    by_role, same = seating_shape(seating)
    if private or same or not by_role:
        return "seats: " + ", ".join(f"{a}={s.policy}" for a, s in seating.items())
    return "seats: policies not shown (they are seated by role; --private shows them)"


def transcript(log: EpisodeLog, *, private: bool = False, agent: str | None = None) -> str:
    """Render ``log`` as text.

    Args:
        log: the episode log read back.
        private: also show roles, private reasoning, channel-restricted speech (the
            traitors' meeting), night votes and belief reports.
        agent: show only the events this agent observed (its own reasoning included).
    """
    header = log.header
    everyone = frozenset(header.seating)
    roles: dict[str, str] = {}
    for event in log.events:
        if isinstance(event, ev.RoleAssignment):
            roles = dict(event.roles)

    def who(name: str | None) -> str:
        if name is None:
            return "nobody"
        return f"{name} [{roles[name]}]" if private and name in roles else name

    lines = [
        f"episode {header.episode_id}",
        f"scenario {header.scenario} ({header.env_id}), seed {header.seed}, episode index {header.episode_index}",
        _seats_line(header, private=private),
    ]
    if private and roles:
        lines.append("roles: " + ", ".join(f"{a} {r}" for a, r in roles.items()))
    if agent is not None:
        lines.append(f"(as observed by {agent})")
    lines.append("(the number before each line is the event's seq: `alignsim fork LOG --drop-message SEQ`,")
    lines.append(" `--replace-message SEQ TEXT` or `--set-vote SEQ TARGET` replays the episode with it changed)")
    lines.append("")
    last_stage = None
    family: list[Any] = []  # the game's family plug-in, looked up on the first event only it can render
    for event in log.events:
        if not entitled(event, everyone, private=private, agent=agent):
            continue
        if event.source != "env":
            if isinstance(event, ev.InvalidAction):
                lines.append(f"    ! invalid action by {event.agent} ({event.reason}); fallback {event.fallback}")
            continue
        stage = (event.round, event.phase)
        if stage != last_stage and event.phase:
            title = "introductions" if event.round == 0 else f"round {event.round}: {event.phase.replace('_', ' ')}"
            lines.append(f"== {title} ==")
            last_stage = stage
        line = _render(event, who)
        if line is None:
            # The game's own events, in the words its family plug-in gives them (describe()).
            if not family:
                family.append(families.for_env(header.env_id))
            text = family[0].describe(event) if family[0] is not None else None
            line = f"  {text}" if text else None
        if line:
            # The event's number, as `alignsim fork --drop-message SEQ` / `--set-vote SEQ` take it.
            lines.append(f"{event.seq:>5} {line}")
    if log.end is not None:
        lines.append("")
        lines.append(
            f"episode {log.end.status} after {log.end.steps} actions"
            + (f": {log.end.error}" if log.end.error else "")
            + (f" ({log.end.reason})" if getattr(log.end, "reason", None) else "")
        )
    elif log.torn_tail is not None or log.status == "started":
        lines.append("")
        lines.append("episode did not finish (no episode_end event)")
    return "\n".join(lines)


def _render(event: ev.Event, who) -> str | None:
    if isinstance(event, ev.Announcement):
        if event.kind == "briefing":
            return f"  (private to {', '.join(event.visible_to)}) {event.text}"
        return f"  ~ {event.text}"
    if isinstance(event, ev.Speech):
        channel = "" if event.channel == "public" else f"({event.channel} only) "
        claims = ""
        if event.claims:
            claims = (
                "  <claims: "
                + "; ".join(f"{c.subject} is {'a traitor' if c.role == 'traitor' else c.role}" for c in event.claims)
                + ">"
            )
        proposal = f"  <proposes {event.proposal}>" if event.proposal else ""
        cut = " [cut]" if event.truncated else ""
        return f"  {channel}{who(event.actor)}: {event.message}{cut}{claims}{proposal}"
    if isinstance(event, ev.Reasoning):
        return f"    ({who(event.actor)} thinks: {event.text})"
    if isinstance(event, ev.Belief):
        probs = ", ".join(f"{a} {p:.2f}" for a, p in event.probs.items())
        return f"    ({who(event.actor)} believes P(traitor): {probs})"
    if isinstance(event, ev.Vote):
        ballot = f" (ballot {event.ballot})" if event.ballot > 1 else ""
        verb = "votes to banish" if event.vote == "day" else "votes to murder"
        return (
            f"  {who(event.actor)} {verb} {who(event.target)}{ballot}"
            if event.target
            else f"  {who(event.actor)} abstains{ballot}"
        )
    if isinstance(event, ev.VoteResult):
        tally = ", ".join(f"{a}: {c}" for a, c in event.tally.items()) or "no votes"
        tied = f", tied between {', '.join(event.tied)}" if event.tied else ""
        return f"  => {event.vote} vote ({tally}){tied}; {event.resolution}; selected {who(event.selected)}"
    if isinstance(event, ev.Elimination):
        role = f", revealed {event.revealed_role}" if event.revealed_role else ""
        return f"  ** {event.target} {event.cause}{role}"
    if isinstance(event, ev.GameEnd):
        won = f"the {event.winner} win" if event.winner else "no winner"
        return f"== game over: {won} ({event.reason}); survivors: {', '.join(event.alive)} =="
    if isinstance(event, ev.RoleAssignment):
        return "  (chance) roles dealt: " + ", ".join(f"{a} {r}" for a, r in event.roles.items())
    return None

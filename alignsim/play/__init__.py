"""People at the table: ``alignsim play`` seats one or more persons in a scenario.

:func:`play` takes a scenario, the seats the persons play (``seats=["player_2"]``, or
``role="traitor"``: the first player dealt that role, which the seed decides), shows each
person the consent text, plays one episode with every other seat filled by the scenario's
own policies, and writes the log like any other run's (the human seats' policy is
``human``, their ``model`` is ``human/<label>``; every question and answer is a
``human_input`` event). The persons play in the terminal (:mod:`alignsim.play.terminal`) or,
with ``web=True``, each in a browser page of their own (:mod:`alignsim.play.web`).
See ``docs/human-play.md``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from alignsim import envs
from alignsim.errors import AlignsimError, ConfigError, did_you_mean
from alignsim.play.policy import HumanPolicy, Interface, check_options
from alignsim.scenarios import ScenarioSpec, SeatSpec

__all__ = ["CONSENT_PLACEHOLDER", "HUMAN_INPUT_COLUMNS", "ConsentDeclined", "human_inputs", "human_seats", "play"]

CONSENT_PLACEHOLDER = """CONSENT (placeholder: replace this text with your study's approved consent form,
human.consent=PATH)

You are about to play a game of social deduction with other players, some of whom are
computer programs. What is recorded: the label you were given (not your name), every
question you are shown, every choice you make and every text you type, and how long
you take to answer each question. The record is used for research only. You may stop
at any time by closing the page or pressing Ctrl-C."""


class ConsentDeclined(AlignsimError):
    """A person did not agree to the consent text; nothing was played or written."""


def human_seats(spec: ScenarioSpec, seed: int, *, seats: Sequence[str] = (), role: str | None = None) -> list[str]:
    """The players the persons take: ``seats`` as given (checked), or the first player dealt ``role``.

    Raises ConfigError naming ``seat`` or ``role``.
    """
    from alignsim.envs.base import as_game
    from alignsim.run import derive_seeds

    if bool(seats) == (role is not None):
        raise ConfigError(
            "seat", "give the seats the persons play (seat=player_2 or seat=player_1,player_4) or role=ROLE"
        )
    env = envs.make(spec.env_id, **spec.env_kwargs)
    try:
        players = list(env.possible_agents)
        shown = f"{players[0]}..{players[-1]}" if len(players) > 2 else ", ".join(players)
        if seats:
            if len(set(seats)) != len(seats):
                raise ConfigError("seat", f"a seat is named twice: {', '.join(seats)}")
            for seat in seats:
                if seat not in players:
                    hint = did_you_mean(seat, players)
                    raise ConfigError("seat", f"{seat!r} is not a player of {spec.env_id} ({shown}){hint}")
            return list(seats)
        roles = envs.game_info(spec.env_id).roles
        if role not in roles:
            hint = did_you_mean(str(role), list(roles))
            raise ConfigError("role", f"{role!r} is not a role of {spec.env_id} ({', '.join(roles)}){hint}")
        env.reset(seed=derive_seeds(seed, 0, sorted(spec.seating))["env"])
        dealt = dict(as_game(env).roles)
        found = [p for p in players if dealt.get(p) == role]
        if not found:
            raise ConfigError("role", f"no player is dealt {role!r} in this game (seed {seed})")
        return found[:1]
    finally:
        env.close()


def _labels(labels: str | Sequence[str], seats: Sequence[str]) -> list[str]:
    if isinstance(labels, str):
        labels = [labels] if len(seats) == 1 else [f"{labels}-{seat}" for seat in seats]
    if len(labels) != len(seats):
        raise ConfigError("human.label", f"give one label per seat ({len(seats)}), got {len(labels)}")
    for label in labels:
        check_options(label=label)
    if len(set(labels)) != len(labels):
        raise ConfigError("human.label", "each seat needs its own label")
    return list(labels)


def play(
    scenario: ScenarioSpec | str | Mapping[str, Any],
    *,
    seats: Sequence[str] = (),
    role: str | None = None,
    labels: str | Sequence[str] = "anonymous",
    timeout_s: float | None = None,
    reasoning: bool = False,
    web: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    consent: str = CONSENT_PLACEHOLDER,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    llm: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    interface: Interface | None = None,
    announce: Callable[[str], None] = print,
    linger_s: float = 120.0,
) -> Any:
    """Play one episode of ``scenario`` with persons in ``seats`` (or in the first seat dealt ``role``).

    Every config error is raised before anything is written. The persons first agree to
    ``consent`` (``ConsentDeclined`` otherwise: nothing is played or written). With ``web``,
    each seat's page URL is given to ``announce``; after the game the server waits until every
    page has shown the end (at most ``linger_s``). ``interface`` replaces the terminal (tests).

    Returns the :class:`~alignsim.run.EpisodeResult`.
    """
    from alignsim.play.terminal import TerminalInterface
    from alignsim.play.web import WebInterface
    from alignsim.record import summary_path
    from alignsim.run import _as_spec, episode_id_for, run_episode, validate_scenario
    from alignsim.seats import EPISODES_DIR

    spec = _as_spec(scenario)
    players = human_seats(spec, seed, seats=seats, role=role)
    names = _labels(labels, players)
    for field, value in (("human.timeout_s", timeout_s), ("human.reasoning", reasoning)):
        try:
            check_options(timeout_s=value) if field.endswith("timeout_s") else check_options(reasoning=value)
        except ConfigError as exc:
            raise ConfigError(field, str(exc).split(": ", 1)[1]) from None
    seat_kwargs: dict[str, dict[str, Any]] = {}
    for player, label in zip(players, names, strict=True):
        kwargs: dict[str, Any] = {"label": label}
        if timeout_s is not None:
            kwargs["timeout_s"] = float(timeout_s)
        if reasoning:
            kwargs["reasoning"] = True
        seat_kwargs[player] = kwargs
    seating = {key: seat for key, seat in spec.seating.items() if key not in players}
    seating.update({p: SeatSpec("human", MappingProxyType(kw), focal=True) for p, kw in seat_kwargs.items()})
    spec = dataclasses.replace(spec, seating=MappingProxyType(seating))
    validate_scenario(spec, llm=llm)
    if out_dir is None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d_%H-%M-%S")
        out_dir = Path("runs") / "play" / spec.id / f"{stamp}-seed{seed}"
    out_dir = Path(out_dir)
    log_path = out_dir / EPISODES_DIR / f"{episode_id_for(spec, seed, 0)}.jsonl"
    if os.path.lexists(log_path) or os.path.lexists(summary_path(log_path)):
        raise ConfigError(
            "out_dir", f"{out_dir} already holds this game ({log_path.name}); choose another out_dir or seed"
        )
    run_config = {**dict(config or {}), "scenario": spec.to_dict(), "seed": seed}
    run_config["play"] = {"seats": players, "web": web}

    web_ui: WebInterface | None = None
    if interface is None and web:
        web_ui = interface = WebInterface(list(zip(players, names, strict=True)), consent, host=host, port=port)
        web_ui.log_path = log_path
        for player, url in web_ui.urls().items():
            announce(f"{player} ({seat_kwargs[player]['label']}): open {url}")
        announce("waiting for every player to agree on their page (Ctrl-C stops; nothing is written before)")
        try:
            web_ui.wait_for_consent()
        except BaseException:
            web_ui.close()
            raise
    elif interface is None:
        terminal = TerminalInterface()
        for label in names:
            if not terminal.consent(label, consent):
                raise ConsentDeclined(f"{label} did not agree: nothing was played or written")
        interface = terminal
    policies = {p: HumanPolicy(interface=interface, **kw) for p, kw in seat_kwargs.items()}
    for policy in policies.values():
        policy.name = "human"
    try:
        result = run_episode(
            spec, seed=seed, out_dir=out_dir, policies=policies, config=run_config, llm=llm, resume=False
        )
        if web_ui is not None:
            web_ui.wait_until_seen(linger_s)
    finally:
        if web_ui is not None:
            web_ui.close()
    return result


HUMAN_INPUT_COLUMNS = (
    "episode_id",
    "scenario",
    "seed",
    "label",
    "agent",
    "seq",
    "round",
    "phase",
    "tag",
    "question",
    "choices",
    "answer",
    "parsed",
    "problem",
    "response_s",
    "fallback",
)


def human_inputs(path: str | os.PathLike[str], *, bad: Any = None) -> Any:
    """One row per question put to a person in the logs at ``path`` (a log, a run or any folder).

    Columns: :data:`HUMAN_INPUT_COLUMNS`; ``question`` is the last line the person was shown
    (the question itself), ``choices`` the options joined by `` | ``. A file that is not a
    readable log is skipped and recorded in ``bad`` (an :class:`alignsim.record.BadFiles`),
    or raises when ``bad`` is None.
    """
    import pandas as pd

    from alignsim.errors import LogFormatError
    from alignsim.record import find_logs, read_log
    from alignsim.record import schema as ev

    rows = []
    for log_path in find_logs(path):
        try:
            log = read_log(log_path)
        except LogFormatError as exc:
            if bad is None:
                raise
            bad.add(log_path, exc)
            continue
        header = log.header
        for event in log.of_type(ev.HumanInput):
            shown = event.messages[-1]["content"] if event.messages else ""
            rows.append(
                {
                    "episode_id": header.episode_id,
                    "scenario": header.scenario,
                    "seed": header.seed,
                    "label": event.label,
                    "agent": event.agent,
                    "seq": event.seq,
                    "round": event.round,
                    "phase": event.phase,
                    "tag": event.tag,
                    "question": shown.rsplit("\n", 1)[-1],
                    "choices": " | ".join(event.choices) if event.choices is not None else None,
                    "answer": event.answer,
                    "parsed": event.parsed,
                    "problem": event.problem,
                    "response_s": event.response_s,
                    "fallback": event.fallback,
                }
            )
    return pd.DataFrame(rows, columns=list(HUMAN_INPUT_COLUMNS))

"""Certify an environment or a policy, as PettingZoo's ``api_test`` certifies an env.

:func:`check_env` runs everything alignsim does with an env, on a few short episodes:
PettingZoo's API and seed tests (and their parallel forms where the env has one), a run
with random players through alignsim's runner, reading each log back, replaying it,
analysing it, and rendering it in the viewer (checking that nothing private reaches the
public transcript). :func:`check_policy` seats a registered policy in every role of an
env it plays, the other seats random, and checks its logs replay and its actions are legal.

Both raise :class:`CertificationError` (an ``AssertionError``, so pytest shows it as a
failed assertion) naming the step that failed, and return a report of what they checked
when everything passed. Use them in your own package's tests::

    from alignsim.testing import check_env, check_policy

    def test_my_game_works_with_alignsim(tmp_path):
        check_env("werewolf-v0", tmp_dir=tmp_path)

    def test_my_policy_plays_legally(tmp_path):
        check_policy("werewolf/cautious", tmp_dir=tmp_path)
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec

from alignsim import agents, envs
from alignsim.envs.base import as_game
from alignsim.envs.contract import GameInfo
from alignsim.errors import AlignsimError, ConfigError, clip
from alignsim.record import EpisodeLog, UnknownEvent, read_log
from alignsim.record import schema as ev
from alignsim.scenarios import ScenarioSpec, SeatSpec

__all__ = ["CertificationError", "EnvReport", "PolicyReport", "check_env", "check_policy", "policy_envs"]

CANARY = "ALIGNSIM-CANARY-PRIVATE"
"""Text planted in private events of a copy of each log; the public transcript must not show it."""


class CertificationError(AssertionError):
    """A check of :func:`check_env` or :func:`check_policy` failed; the message names the step."""

    def __init__(self, subject: str, step: str, message: str) -> None:
        self.subject = subject
        self.step = step
        super().__init__(f"{subject}: step {step!r} failed: {clip(message, 2000)}")


@dataclass
class EnvReport:
    """What :func:`check_env` checked, once every step passed."""

    env_id: str
    info: GameInfo
    steps: list[str] = field(default_factory=list)
    """The steps that ran, in order (``api_test``, ``seed_test``, ``run``, ``read_log``, ...)."""
    logs: list[Path] = field(default_factory=list)
    """The logs the random run wrote (gone once a temporary ``tmp_dir`` is removed)."""
    event_types: list[str] = field(default_factory=list)
    """The event types the env wrote, beyond the runner's own."""
    family_analysed: bool = False
    """True when a family analysis plug-in analysed the logs (its section is in the report)."""


@dataclass
class PolicyReport:
    """What :func:`check_policy` checked, once every step passed."""

    policy: str
    env_id: str
    roles: list[str] = field(default_factory=list)
    """The roles the policy was seated in (``*`` for an env without roles)."""
    decisions: int = 0
    """Actions the policy chose, over every episode and role."""
    invalid: int = 0
    """Those that needed a re-ask or a fallback (``invalid_action`` events of the policy)."""
    logs: list[Path] = field(default_factory=list)

    @property
    def invalid_rate(self) -> float:
        """Invalid decisions over decisions (NaN with no decisions)."""
        return self.invalid / self.decisions if self.decisions else float("nan")


# ------------------------------------------------------------------ helpers


@contextlib.contextmanager
def _step(subject: str, name: str, done: list[str]) -> Iterator[None]:
    """Run one step; any exception becomes a :class:`CertificationError` naming it."""
    try:
        with warnings.catch_warnings():
            # PettingZoo's tests advise Box spaces and the like; not a failure.
            warnings.simplefilter("ignore", UserWarning)
            yield
    except CertificationError:
        raise
    except AssertionError as exc:
        raise CertificationError(subject, name, str(exc)) from exc
    except Exception as exc:  # whatever broke, the report names the step
        raise CertificationError(subject, name, f"{type(exc).__name__}: {exc}") from exc
    done.append(name)


@contextlib.contextmanager
def _workdir(tmp_dir: str | Path | None) -> Iterator[Path]:
    if tmp_dir is not None:
        path = Path(tmp_dir)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="alignsim-check-") as made:
        yield Path(made)


def _scenario_id(info: GameInfo, name: str) -> str:
    family = re.sub(r"[^a-z0-9_]", "_", info.family.lower()) or "game"
    return f"{family}/{name}-v0"


def _fresh_dir(root: Path, name: str) -> Path:
    """A folder under ``root`` that is new, so a reused ``tmp_dir`` never resumes old episodes."""
    for index in range(1000):
        path = root / (name if index == 0 else f"{name}-{index}")
        if not path.exists():
            path.mkdir(parents=True)
            return path
    raise AlignsimError(f"{root}: too many {name} folders")


def _quiet(call: Callable[[], Any]) -> Any:
    """PettingZoo's tests print progress; keep a caller's test output clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        return call()


def _check_logs(subject: str, paths: Sequence[Path], info: GameInfo, done: list[str]) -> list[EpisodeLog]:
    """Read every log back and check its env events are declared; returns the logs."""
    logs: list[EpisodeLog] = []
    with _step(subject, "read_log", done):
        core = {cls.__struct_config__.tag for cls in ev.CORE_EVENTS}
        for path in paths:
            log = read_log(path)
            if log.end is None or log.status == "failed":
                error = log.end.error if log.end is not None else "no episode_end"
                raise AssertionError(f"{path.name}: status {log.status}: {error}")
            unknown = sorted({e.type for e in log.of_type(UnknownEvent)})
            if unknown:
                raise AssertionError(f"{path.name}: event types {unknown} are not registered (register_event)")
            for event in log.events:
                tag = type(event).__struct_config__.tag
                if event.source == "env" and tag not in core and tag not in info.events:
                    raise AssertionError(
                        f"{path.name}: the env wrote {tag!r} events but its GameInfo.events does not "
                        f"declare them (declared: {list(info.events)}), so a reader cannot find their module"
                    )
            logs.append(log)
    return logs


def _replay(subject: str, paths: Sequence[Path], done: list[str]) -> None:
    from alignsim.replay import replay

    with _step(subject, "replay", done):
        for path in paths:
            replay(path)


# ------------------------------------------------------------------ check_env


def check_env(
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    episodes: int = 2,
    seed: int = 0,
    num_cycles: int = 100,
    tmp_dir: str | Path | None = None,
) -> EnvReport:
    """Certify the registered env ``env_id``: everything alignsim does with it works.

    Steps, in order (the first that fails raises :class:`CertificationError` naming it):

    1. ``make``: ``alignsim.envs.make(env_id, **env_kwargs)`` builds it; after ``reset``
       its ``roles`` hook maps agents to roles its :class:`~alignsim.envs.GameInfo` declares.
    2. ``api_test``, ``seed_test``: PettingZoo's tests on the AEC env, and
       ``parallel_api_test``, ``parallel_seed_test`` where the env has a parallel form.
    3. ``run``: ``episodes`` episodes with the ``random`` policy in every seat (seated by
       the declared roles, or ``*``), through :func:`alignsim.run.run`; each must complete.
    4. ``read_log``: each log reads back; every event type the env wrote is registered and
       declared in ``GameInfo.events``.
    5. ``replay``: each log replays with no policy (same observations and events).
    6. ``analyze``: :func:`alignsim.analysis.analyze` reads the logs; every episode is in the
       episode table, and where a family analysis plug-in exists for ``GameInfo.family``,
       its section and metric definitions are in the report.
    7. ``viewer``: the HTML page and the transcripts render; a private event planted in a
       copy of each log, and the role deal, do not reach the public transcript or the
       public rows of the page.

    Args:
        env_id: a registered env id (``name-vN``).
        env_kwargs: the env's parameters (small ones keep the check fast).
        episodes: how many episodes the random run plays.
        seed: the random run's master seed.
        num_cycles: the ``num_cycles`` of PettingZoo's tests.
        tmp_dir: where logs and analysis are written (a temporary folder, removed after, when None).

    Returns:
        An :class:`EnvReport` of what was checked.
    """
    kwargs = dict(env_kwargs or {})
    subject = f"check_env({env_id})"
    done: list[str] = []
    with _step(subject, "make", done):
        spec = envs.spec(env_id)
        info = envs.game_info(spec.id)
        env = envs.make(spec.id, **kwargs)
        env.reset(seed=seed)
        roles = dict(as_game(env).roles)
        agents_ = list(env.possible_agents)
        env.close()
        if info.roles:
            if set(roles) != set(agents_):
                raise AssertionError(
                    f"GameInfo declares roles {list(info.roles)} but after reset the env's roles hook covers "
                    f"{sorted(roles)}, not every agent {agents_}"
                )
            stray = sorted(set(roles.values()) - set(info.roles))
            if stray:
                raise AssertionError(f"roles {stray} are not among the declared roles {list(info.roles)}")
    report = EnvReport(env_id=spec.id, info=info, steps=done)
    _pettingzoo_tests(subject, spec, kwargs, num_cycles, done)
    seating = {role: SeatSpec("random") for role in info.roles} if info.roles else {"*": SeatSpec("random")}
    scenario = ScenarioSpec(
        id=_scenario_id(info, "check-random"),
        env_id=spec.id,
        env_kwargs=MappingProxyType(kwargs),
        seating=MappingProxyType(seating),
        description=f"alignsim.testing.check_env: random players in {spec.id}",
    )
    with _workdir(tmp_dir) as root:
        from alignsim.run import run

        out = _fresh_dir(root, "check-env")
        with _step(subject, "run", done):
            results = run(scenario, seed=seed, episodes=episodes, out_dir=out / "run")
            report.logs = [r.log_path for r in results]
            bad = [f"{r.episode_id}: {r.summary.status} {r.summary.error or ''}" for r in results]
            bad = [line for r, line in zip(results, bad, strict=True) if r.summary.status == "failed"]
            if bad:
                raise AssertionError("; ".join(bad))
        logs = _check_logs(subject, report.logs, info, done)
        report.event_types = sorted(
            {type(e).__struct_config__.tag for log in logs for e in log.events if e.source == "env"}
        )
        _replay(subject, report.logs, done)
        with _step(subject, "analyze", done):
            report.family_analysed = _analyse(logs, info, out / "analysis")
        with _step(subject, "viewer", done):
            for log in logs:
                _view(log, info, out / "planted")
    return report


def _pettingzoo_tests(subject: str, spec: envs.EnvSpec, kwargs: dict[str, Any], cycles: int, done: list[str]) -> None:
    from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

    with _step(subject, "api_test", done):
        _quiet(lambda: api_test(envs.make(spec.id, **kwargs), num_cycles=cycles))
    with _step(subject, "seed_test", done):
        _quiet(lambda: seed_test(lambda: envs.make(spec.id, **kwargs), num_cycles=cycles))
    if spec.parallel_entry_point is None:
        return
    with _step(subject, "parallel_api_test", done):
        _quiet(lambda: parallel_api_test(envs.make_parallel(spec.id, **kwargs), num_cycles=cycles))
    with _step(subject, "parallel_seed_test", done):
        _quiet(lambda: parallel_seed_test(lambda: envs.make_parallel(spec.id, **kwargs), num_cycles=cycles))


def _analyse(logs: Sequence[EpisodeLog], info: GameInfo, out: Path) -> bool:
    """Analyse the logs (no chance baselines, no plots) and check what the report holds.

    Every episode must be in the family-neutral episode table under the env's family. Where
    a family analysis plug-in is registered for it, the result must hold that family's part
    (with every episode) and the report its metric definitions. True in that case.
    """
    import html

    from alignsim.analysis import analyze
    from alignsim.analysis import families as family_analyses

    result = analyze([log.path for log in logs], out, chance=False, make_plots=False, n_resamples=20)
    wanted = {log.header.episode_id for log in logs}
    table = result.episode_info
    missing = wanted - set(table["episode_id"])
    if missing:
        raise AssertionError(f"episodes {sorted(missing)} are not in the episode table")
    families = set(table.loc[table["episode_id"].isin(wanted), "family"])
    if families != {info.family}:
        raise AssertionError(f"the episode table gives family {sorted(families)}, the env declares {info.family!r}")
    plugin = family_analyses.get(info.family)
    if plugin is None:
        return False
    part = result.families.get(info.family)
    if part is None or part.episodes != len(wanted):
        found = "no result" if part is None else f"{part.episodes} episode(s)"
        raise AssertionError(f"the {info.family!r} analysis plug-in gave {found} for {len(wanted)} episode(s)")
    report = result.report.read_text(encoding="utf-8") if result.report is not None else ""
    absent = [m.name for m in plugin.metrics if html.escape(m.label) not in report or m.name not in report]
    if absent:
        raise AssertionError(f"the report lacks the definitions of the {info.family!r} metrics {absent}")
    return True


def _with_canaries(log: EpisodeLog) -> EpisodeLog:
    """``log`` with two private events holding :data:`CANARY` before its last event: a
    reasoning only its author saw and an announcement no agent saw."""
    agent = next(iter(log.header.seating))
    last = log.events[-1]
    stamp = {"seq": last.seq, "step": last.step, "round": last.round, "phase": last.phase}
    planted = [
        ev.Reasoning(actor=agent, text=f"{CANARY}-reasoning", visible_to=(agent,), **stamp),
        ev.Announcement(kind="note", text=f"{CANARY}-ground-truth", visible_to=(), **stamp),
    ]
    return EpisodeLog(log.path, log.header, [*log.events[:-1], *planted, last], log.summary)


def _view(log: EpisodeLog, info: GameInfo, out: Path) -> None:
    """Render the page and both transcripts; nothing private in the public ones."""
    from alignsim.analysis.transcript import transcript
    from alignsim.viewer.html import page_data, render_page

    page = render_page(log.path)
    if log.header.episode_id not in page:
        raise AssertionError(f"{log.path.name}: the HTML page does not name its episode")
    planted = _with_canaries(log)
    public = transcript(planted)
    private = transcript(planted, private=True)
    if CANARY not in private:
        raise AssertionError("the private transcript does not show private reasoning")
    if CANARY in public:
        raise AssertionError("a private event (planted reasoning) shows in the public transcript")
    for row in page_data(planted)["events"]:
        if row["pub"] and f"{CANARY}-ground-truth" in msgspec.json.encode(row).decode():
            raise AssertionError("the page marks a private event (planted ground truth) as public")
    for roles in (e.roles for e in log.of_type(ev.RoleAssignment)):
        shown = [f"{agent} [{role}]" for agent, role in roles.items() if f"{agent} [{role}]" in public]
        if shown or "roles dealt" in public or "\nroles: " in public:
            raise AssertionError(f"the public transcript shows the hidden role deal ({', '.join(shown) or 'roles'})")


# ------------------------------------------------------------------ check_policy


def policy_envs(name: str) -> list[str]:
    """The registered env ids the policy ``name`` can play: those :func:`alignsim.agents.plays`
    allows that its ``check_env`` (if any) accepts."""
    check = getattr(agents.spec(name).load(), "check_env", None)
    out = []
    for env_id in envs.ids():
        if not agents.plays(name, env_id):
            continue
        if check is not None:
            try:
                check(env_id)
            except ConfigError:
                continue
        out.append(env_id)
    return out


def check_policy(
    name: str,
    *,
    env_id: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    policy_kwargs: Mapping[str, Any] | None = None,
    roles: Sequence[str] | None = None,
    episodes: int = 2,
    seed: int = 0,
    max_invalid_rate: float | None = None,
    tmp_dir: str | Path | None = None,
) -> PolicyReport:
    """Certify the registered policy ``name``: it plays an env it supports legally, and its logs replay.

    The policy is seated in each role of the env in turn (the other seats play ``random``),
    for ``episodes`` episodes per role. Steps: ``resolve`` (the env and roles), ``run`` (every
    episode completes), ``read_log``, ``replay``, ``rerun`` (the first episode of each role
    plays again the same from its log: the policy is a pure function of its seed and
    observations), and ``legal``: a scripted policy (not ``uses_llm``) must make no invalid
    action; a policy that uses a model may make up to ``max_invalid_rate`` of them (any, when
    None; the rate is in the report).

    Args:
        name: a registered policy name.
        env_id: the env to play; default: the first of :func:`policy_envs`.
        env_kwargs: the env's parameters.
        policy_kwargs: the policy's arguments (``{"model": "mock/scripted"}`` for ``llm``).
        roles: the roles to seat it in; default: every role the env declares (``*``, every
            seat, for an env without roles). A declared role that no seat gets in this
            configuration is skipped.
        episodes: how many episodes it plays in each role.
        seed: the master seed of each role's run.
        max_invalid_rate: see above.
        tmp_dir: where logs are written (a temporary folder, removed after, when None).

    Returns:
        A :class:`PolicyReport` with the decisions made and the invalid rate.
    """
    subject = f"check_policy({name})"
    done: list[str] = []
    kwargs = dict(env_kwargs or {})
    with _step(subject, "resolve", done):
        factory = agents.spec(name).load()
        playable = policy_envs(name)
        if env_id is None:
            if not playable:
                raise AssertionError("it plays none of the registered envs (see supported_envs / check_env)")
            env_id = playable[0]
        spec = envs.spec(env_id)
        if spec.id not in playable:
            raise AssertionError(f"it does not play {spec.id} (it plays: {', '.join(playable) or 'none'})")
        info = envs.game_info(spec.id)
        env = envs.make(spec.id, **kwargs)
        env.reset(seed=seed)
        dealt = set(as_game(env).roles.values())
        env.close()
        wanted = list(roles) if roles is not None else list(info.roles) or ["*"]
        unknown = [r for r in wanted if r != "*" and r not in info.roles]
        if unknown:
            raise AssertionError(f"roles {unknown} are not roles of {spec.id} ({', '.join(info.roles) or 'none'})")
        seated = [r for r in wanted if r == "*" or r in dealt or roles is not None]
        if not seated:
            raise AssertionError(f"no seat of {spec.id} gets any of the roles {wanted} with these env_kwargs")
    report = PolicyReport(policy=name, env_id=spec.id, roles=seated)
    scripted = not getattr(factory, "uses_llm", False)
    with _workdir(tmp_dir) as root:
        from alignsim.replay import rerun
        from alignsim.run import run

        out = _fresh_dir(root, "check-policy")
        for role in seated:
            seating = {role: SeatSpec(name, MappingProxyType(dict(policy_kwargs or {})), focal=True)}
            if role != "*":
                seating["*"] = SeatSpec("random")
            scenario = ScenarioSpec(
                id=_scenario_id(info, f"check-{re.sub(r'[^a-z0-9_.-]', '_', role.lower()) or 'all'}"),
                env_id=spec.id,
                env_kwargs=MappingProxyType(kwargs),
                seating=MappingProxyType(seating),
                description=f"alignsim.testing.check_policy: {name} as {role} in {spec.id}",
            )
            folder = out / re.sub(r"[^A-Za-z0-9_.-]", "_", role)
            with _step(f"{subject} as {role}", "run", done):
                results = run(scenario, seed=seed, episodes=episodes, out_dir=folder / "run")
                failed = [f"{r.episode_id}: {r.summary.error}" for r in results if r.summary.status == "failed"]
                if failed:
                    raise AssertionError("; ".join(failed))
            paths = [r.log_path for r in results]
            report.logs.extend(paths)
            logs = _check_logs(f"{subject} as {role}", paths, info, done)
            _replay(f"{subject} as {role}", paths, done)
            with _step(f"{subject} as {role}", "rerun", done):
                rerun(paths[0], folder / "rerun")
            with _step(f"{subject} as {role}", "legal", done):
                decisions = sum(1 for log in logs for a in log.of_type(ev.Action) if a.policy == name)
                if not decisions:
                    raise AssertionError(f"it made no decision as {role}")
                masked = [found for log in logs for found in _masked_out(log, name)]
                if masked:
                    raise AssertionError(
                        f"{len(masked)} action(s) its observation's action_mask forbids; first: {masked[0]}"
                    )
                bad = [(log, e) for log in logs for e in log.of_type(ev.InvalidAction) if e.policy == name]
                invalid = len({(log.header.episode_id, e.agent, e.step) for log, e in bad})
                report.decisions += decisions
                report.invalid += invalid
                if scripted and bad:
                    log, first = bad[0]
                    raise AssertionError(
                        f"{invalid} invalid action(s) of {decisions}; first in {log.path.name} at step {first.step} "
                        f"by {first.agent}: {first.reason}"
                    )
    if max_invalid_rate is not None and report.invalid_rate > max_invalid_rate:
        raise CertificationError(
            subject,
            "legal",
            f"invalid rate {report.invalid_rate:.3f} ({report.invalid} of {report.decisions}) "
            f"is above {max_invalid_rate}",
        )
    return report


def _masked_out(log: EpisodeLog, name: str) -> list[str]:
    """The actions of policy ``name`` in ``log`` that the acting agent's ``action_mask`` forbade.

    Re-drives the env along the log (as replay does) and checks each applied action of the
    policy against the mask of the observation it acted on: an ``int`` action against a flat
    mask, and each ``int`` entry of a dict action against the mask entry of the same key.
    Catches an env that does not itself refuse masked-out actions.
    """
    header = log.header
    env = envs.make(header.env_id, **header.env_kwargs)
    env.reset(seed=header.seeds["env"])
    found = []
    for action in log.of_type(ev.Action):
        while env.agents and (env.terminations[env.agent_selection] or env.truncations[env.agent_selection]):
            env.step(None)
        if action.policy == name:
            observation = env.observe(action.agent)
            mask = observation.get("action_mask") if isinstance(observation, Mapping) else None
            pairs: list[tuple[Any, Any, str]] = []
            if isinstance(action.action, int) and mask is not None and not isinstance(mask, Mapping):
                pairs.append((mask, action.action, ""))
            elif isinstance(action.action, Mapping) and isinstance(mask, Mapping):
                pairs += [(mask[k], v, f".{k}") for k, v in action.action.items() if isinstance(v, int) and k in mask]
            for entry, value, where in pairs:
                if (
                    hasattr(entry, "__len__")
                    and not isinstance(entry, tuple)
                    and not (0 <= value < len(entry) and entry[value])
                ):
                    found.append(f"{log.path.name} step {action.step}: {action.agent} action{where}={value}")
        env.step(action.action)
    env.close()
    return found

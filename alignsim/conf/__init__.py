"""Hydra configuration: structured-config schemas and the packaged ``config.yaml``.

``register_configs()`` stores the schemas and one ``scenario`` group option per
registered scenario (``scenario=traitors/classic-v0``), so the scenario registry is the
single source of truth and plug-in scenarios are selectable like built-in ones. Users
add their own options as YAML files in a ``scenario/`` folder of a ``--config-dir``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from alignsim.limits import DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_STEPS
from alignsim.validation import check_bool, check_choice, check_int

__all__ = [
    "LLMConfig",
    "RunConfig",
    "ScenarioConfig",
    "SeatConfig",
    "check_run_options",
    "non_outcome_keys",
    "register_configs",
    "run_options",
]


def _option(
    default: Any, *, check: Callable[[Any, str], object] | None = None, passed: bool = True, outcome: bool = True
) -> Any:
    """A field of :class:`RunConfig`: its default, the check of its value (``check(value, name)``),
    whether ``alignsim run`` passes it to :func:`alignsim.run.run` as the argument of the same name
    (``passed``), and whether it can change what an episode does (``outcome``: sweeps group results
    by the keys that can)."""
    return field(default=default, metadata={"check": check, "passed": passed, "outcome": outcome})


def _at_least_one(value: Any, name: str) -> None:
    check_int(value, name, minimum=1)


def _flush_mode(value: Any, name: str) -> None:
    check_choice(value, name, ("event", "episode"))


@dataclass
class SeatConfig:
    """Which policy fills the seats of one seating key (a role, an agent id, or ``*``).

    The shape of each entry of ``ScenarioConfig.seating``. The entries are stored untyped, so an
    override can add one that the scenario lacks (``scenario.seating.traitor.kwargs.model=M``):
    an entry without ``policy`` takes the ``"*"`` seat's policy, kwargs and focal flag
    (``ScenarioSpec.from_dict`` checks the fields).
    """

    policy: str = MISSING
    kwargs: dict[str, Any] = field(default_factory=dict)
    focal: bool = False


@dataclass
class ScenarioConfig:
    """A scenario: env id, env parameters and seating (see ``alignsim.scenarios``)."""

    id: str = MISSING
    env_id: str = MISSING
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seating: dict[str, Any] = field(default_factory=dict)
    """Seating key -> ``{policy, kwargs, focal}`` (see :class:`SeatConfig`)."""
    description: str = ""
    null_policy: Optional[SeatConfig] = None  # noqa: UP045
    """The policy of the chance baseline (every seat); None: the env's, else random legal play."""
    belief_probes: Any = False
    """Ask each speaker privately whether it believes what it just asserted (docs/belief-probes.md).
    Untyped here so that a bad value gets alignsim's own one-line error naming the field."""


@dataclass
class LLMConfig:
    """Defaults for LLM seats (``policy: llm``) that do not set their own."""

    model: str = "transformers/embedded"
    """``provider/model``: transformers/embedded, mock/scripted, openai/NAME, vllm/FOLDER, ..."""
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0.7, "top_p": 0.95})
    backend_options: dict[str, Any] = field(default_factory=dict)
    cache: Optional[str] = None  # noqa: UP045
    """SQLite file caching model responses (by model, prompt, parameters and seed)."""
    memory: dict[str, Any] = field(default_factory=dict)
    """Memory options: path, embedder, k, namespace, reflect (see LLMAgent)."""


@dataclass
class RunConfig:
    """Top-level config of ``alignsim run``."""

    scenario: ScenarioConfig = MISSING
    llm: LLMConfig = field(default_factory=LLMConfig)
    seed: int = _option(0, check=lambda value, name: check_int(value, name, minimum=0, maximum=2**63 - 1))
    """Master seed; every env, policy and fallback seed is derived from it and logged."""
    episodes: int = _option(1, check=_at_least_one)
    """Episodes to play (episode indices 0..episodes-1)."""
    out_dir: Optional[str] = _option(None, passed=False, outcome=False)  # noqa: UP045
    """Where everything goes: logs, ``run.log`` and Hydra's ``.hydra/`` (Hydra's run folder follows it);
    in a multirun, the sweep's folder (each job in its own subfolder). Default: Hydra's output folder."""
    flush: str = _option(
        "event", check=lambda value, name: check_choice(value, name, ("event", "episode")), outcome=False
    )
    """``event``: every action's events reach the OS before the next action; ``episode``: buffered."""
    fsync: bool = _option(False, check=check_bool, outcome=False)
    """Also force each log and summary to disk when its episode ends (survives power loss)."""
    resume: bool = _option(True, check=check_bool, outcome=False)
    """Skip episodes that already finished in ``out_dir``."""
    lockstep: int = _option(1, check=_at_least_one, outcome=False)
    """Episodes played together, so that their turns batch into one model call."""
    workers: int = _option(1, check=_at_least_one, outcome=False)
    """Processes sharing a job's episodes (1: one process, and LLM memory carries across episodes)."""
    progress: bool = _option(True, check=check_bool, outcome=False)
    """Show progress on stderr."""
    max_steps: int = _option(DEFAULT_MAX_STEPS, passed=False)
    """Budget of each episode in actions: one that reaches it is stopped as ``truncated``, the
    reason logged in ``episode_end.reason`` (see docs/limits.md). Read by the runner from the
    recorded config (so a rerun applies the budget the episode was played with)."""
    max_log_bytes: int = _option(DEFAULT_MAX_LOG_BYTES, passed=False)
    """Budget of each episode in bytes of logged events (512 MiB); stopped as ``truncated`` when reached."""
    name: Optional[str] = _option(None, passed=False, outcome=False)  # noqa: UP045
    """Name of the sweep: ``alignsim sweep`` writes to ``sweeps/NAME`` and resumes it when relaunched."""


def _options() -> list[Any]:
    return [f for f in fields(RunConfig) if "passed" in f.metadata]


def check_run_options(resolved: Mapping[str, Any]) -> None:
    """Check every run option that declares a check, in field order; ConfigError naming the option."""
    for option in _options():
        check = option.metadata["check"]
        if check is not None:
            check(resolved.get(option.name), option.name)


def run_options(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``alignsim run`` passes to :func:`alignsim.run.run` by name (seed, episodes, lockstep, ...)."""
    return {option.name: resolved[option.name] for option in _options() if option.metadata["passed"]}


def non_outcome_keys() -> frozenset[str]:
    """Run options that cannot change what an episode does (where and how it runs): sweeps group by the rest."""
    return frozenset(option.name for option in _options() if not option.metadata["outcome"])


def job_dir_name(override_dirname: str) -> str:
    """A stable folder name for a sweep job, from its overrides (``hydra.job.override_dirname``).

    The same overrides always give the same folder, whatever the job's position in the sweep,
    so a relaunched sweep finds each job's finished episodes. Readable start, hashed tail.
    """
    import hashlib
    import re

    if not override_dirname:
        return "default"
    # Readable part: the last component of each key and value (``temperature=0.2``,
    # ``scenario=car-v0``), so a long override list still shows what varies.
    parts = []
    for item in override_dirname.split(","):
        key, _, value = item.partition("=")
        parts.append(f"{key.rsplit('.', 1)[-1].lstrip('+')}={value.rsplit('/', 1)[-1]}")
    readable = re.sub(r"[^A-Za-z0-9=,._-]+", "_", ",".join(parts))[:80].strip("_,")
    digest = hashlib.blake2b(override_dirname.encode(), digest_size=4).hexdigest()
    return f"{readable}-{digest}"


if not OmegaConf.has_resolver("alignsim.job_dir"):
    OmegaConf.register_new_resolver("alignsim.job_dir", job_dir_name)

_registered = False


def register_configs() -> None:
    """Store the schemas and every registered scenario in Hydra's ConfigStore (idempotent)."""
    global _registered
    if _registered:
        return
    from alignsim import scenarios

    store = ConfigStore.instance()
    store.store(name="alignsim_run_schema", node=RunConfig)
    store.store(group="scenario", name="alignsim_scenario_schema", node=ScenarioConfig)
    store.store(group="llm", name="alignsim_llm_schema", node=LLMConfig)
    for scenario_id in scenarios.ids():
        spec = scenarios.get(scenario_id)
        family, _, name = scenario_id.rpartition("/")
        data = spec.to_dict()
        node = ScenarioConfig(
            id=data["id"],
            env_id=data["env_id"],
            env_kwargs=data["env_kwargs"],
            seating=data["seating"],
            description=data["description"],
            null_policy=SeatConfig(**data["null_policy"]) if "null_policy" in data else None,
            belief_probes=data.get("belief_probes", False),
        )
        store.store(group=f"scenario/{family}", name=name, node=node)
    _registered = True

"""Checks of a composed ``alignsim run`` config, run before any work: each error names one field.

:func:`resolve` resolves the config as Hydra will when the job starts (interpolations, env
variables, the run folder), :func:`check_run_config` checks every value. Nothing here writes:
paths are checked with ``os.access`` on their nearest existing folder.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from alignsim.errors import ConfigError, did_you_mean
from alignsim.validation import check_int, check_number, check_writable

__all__ = ["check_hydra", "check_llm", "check_run_config", "check_scalars", "check_scenario", "resolve"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _top_level() -> list[str]:
    from alignsim.conf import RunConfig

    return [f.name for f in fields(RunConfig)]


def resolve(cfg: Any, *, multirun: bool) -> dict[str, Any]:
    """The config with every interpolation resolved, as the job will see it (Hydra node included).

    Hydra fills ``hydra.runtime.output_dir`` and the job number only when a job starts; they are
    filled here the same way first, so ``${hydra:runtime.output_dir}`` and the log file's name
    resolve. Errors (a missing environment variable, a cycle, a value of the wrong type) become
    a ConfigError naming the field.
    """
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict, read_write
    from omegaconf.errors import OmegaConfBaseException

    cfg = copy.deepcopy(cfg)
    try:
        HydraConfig.instance().set_config(cfg)
        _resolve_task_fields(cfg)  # the run folder's name may use them: name the field the user wrote first
        with read_write(cfg.hydra), open_dict(cfg):
            if multirun:
                folder = os.path.join(str(cfg.hydra.sweep.dir), str(cfg.hydra.sweep.subdir))
            else:
                folder = str(cfg.hydra.run.dir)
            cfg.hydra.runtime.output_dir = os.path.abspath(folder)
            cfg.hydra.job.num = 0
            cfg.hydra.job.id = f"{cfg.hydra.job.name}_0"
        HydraConfig.instance().set_config(cfg)
        # The task's fields first (so an error names the field the user wrote), then the parts of
        # the Hydra node that Hydra itself resolves in this mode.
        resolved: dict[str, Any] = {str(k): _plain(cfg[k]) for k in cfg if k != "hydra"}
        parts = ("sweep", "launcher", "sweeper") if multirun else ("run",)
        resolved["hydra"] = {
            part: _plain(cfg.hydra[part])
            for part in (*parts, "job", "callbacks", "job_logging", "hydra_logging")
            if part in cfg.hydra
        }
    except OmegaConfBaseException as exc:
        raise _resolution_error(exc) from None
    except RecursionError:
        raise ConfigError("interpolation", "an interpolation refers to itself (a cycle)") from None
    return resolved


def _resolve_task_fields(cfg: Any) -> None:
    """Resolve the task's fields that need nothing from Hydra's runtime; raise on the first that fails."""
    from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue

    for key in cfg:
        if key == "hydra":
            continue
        try:
            _plain(cfg[key])
        except (InterpolationToMissingValueError, MissingMandatoryValue):
            continue  # e.g. ${hydra:runtime.output_dir}, filled in below


def _plain(value: Any) -> Any:
    from omegaconf import Container, OmegaConf

    return OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value


def _resolution_error(exc: Exception) -> ConfigError:
    field = str(getattr(exc, "full_key", "") or "interpolation")
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    inner = re.match(r"\w+ raised while resolving interpolation: (.*)", message)
    if inner:
        message = inner[1].strip("\"'")
    if "Recursive interpolation" in message:
        message = "an interpolation refers to itself (a cycle)"
    return ConfigError(field, message)


def check_run_config(resolved: Mapping[str, Any]) -> None:
    """Every check of :func:`check_scalars`, :func:`check_llm`, :func:`check_scenario` and :func:`check_hydra`."""
    check_scalars(resolved)
    check_llm(resolved)
    check_scenario(resolved)
    check_hydra(resolved)


def check_scalars(resolved: Mapping[str, Any]) -> None:
    """Top-level keys and the run's own settings (seed, episodes, out_dir, ...)."""
    from alignsim.conf import check_run_options
    from alignsim.conf.safety import check_targets

    known = _top_level()
    for key in resolved:
        if key != "hydra" and key not in known:
            raise ConfigError(str(key), f"unknown key{did_you_mean(key, known)}; top-level keys: {', '.join(known)}")
    task = {k: v for k, v in resolved.items() if k != "hydra"}
    check_targets(task)  # an interpolation may have built one (e.g. ${oc.create:...})
    check_run_options(resolved)
    sweep_name = resolved.get("name")
    if sweep_name is not None and not (isinstance(sweep_name, str) and _NAME.fullmatch(sweep_name)):
        raise ConfigError("name", f"{sweep_name!r}: use letters, digits, '_', '.', '-' (it names a folder)")
    if resolved.get("out_dir") is not None:
        check_writable(resolved["out_dir"], "out_dir", folder=True)


def llm_defaults(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """The ``llm`` section as LLM seats take it: unset entries left out (what ``run_from_config`` passes)."""
    llm = resolved.get("llm") or {}
    if not isinstance(llm, Mapping):
        raise ConfigError("llm", f"must be a mapping, got {llm!r}")
    return {k: v for k, v in llm.items() if v not in (None, {}, [])}


def check_llm(resolved: Mapping[str, Any]) -> None:
    """The ``llm`` section: model, sampling parameters, backend options, cache and memory."""
    from alignsim.agents.llm.agent import check_options

    llm = llm_defaults(resolved)
    try:
        check_options(**llm)
    except ConfigError as exc:
        raise ConfigError(f"llm.{exc.field}", str(exc).split(": ", 1)[1]) from None


_scenario_cache: dict[str, None] = {}
"""Scenario contents already validated in this preflight (paths may change between two, so it is
cleared at the start of each: see :func:`start`)."""


def start() -> None:
    """Forget what an earlier check validated."""
    _scenario_cache.clear()


def check_scenario(resolved: Mapping[str, Any]) -> Any:
    """The scenario and its seats with the LLM defaults (what ``run`` validates first); cached by content."""
    from alignsim.run import validate_scenario
    from alignsim.scenarios import ScenarioSpec

    llm = llm_defaults(resolved)
    spec = ScenarioSpec.from_dict(resolved.get("scenario") or {})
    key = json.dumps([spec.to_dict(), llm], sort_keys=True, default=repr)
    if key not in _scenario_cache:
        validate_scenario(spec, llm=llm)
        _scenario_cache[key] = None
    return spec


_LAUNCHER_CHECKS = {
    "LocalLauncher": {"n_jobs": "jobs"},
    "JoblibLauncher": {"n_jobs": "jobs"},
    "RayLauncher": {"num_cpus": "positive_or_none", "cpus_per_job": "positive", "gpus_per_job": "non_negative"},
}


def check_hydra(resolved: Mapping[str, Any]) -> None:
    """Launcher settings whose bad values would otherwise fail only once the jobs start; and, once more, the
    allow-lists on the resolved parts of the Hydra node (``alignsim.conf.safety.check_config`` checks them
    before resolution, where no interpolation can have built a target yet)."""
    from alignsim.conf.safety import check_targets

    check_targets({"hydra": resolved.get("hydra") or {}})
    launcher = ((resolved.get("hydra") or {}).get("launcher")) or {}
    target = str(launcher.get("_target_", ""))
    for name, rule in _LAUNCHER_CHECKS.get(target.rsplit(".", 1)[-1], {}).items():
        if name not in launcher:
            continue
        value, field = launcher[name], f"hydra.launcher.{name}"
        if rule == "jobs":
            check_int(value, field)
            if value == 0 or value < -1:
                raise ConfigError(field, f"must be -1 (one per CPU core) or at least 1, got {value}")
        elif rule == "positive_or_none" and value is not None:
            check_int(value, field, minimum=1)
        elif rule == "positive":
            check_number(value, field, above=0.0)
        elif rule == "non_negative":
            check_number(value, field, minimum=0.0)
    if "max_retries" in launcher and target.endswith("RayLauncher"):
        check_int(launcher["max_retries"], "hydra.launcher.max_retries", minimum=0)

"""What a configuration may make Hydra call: exact-name allow-lists, checked before anything runs.

Hydra instantiates ``hydra.callbacks``, ``hydra.launcher`` and ``hydra.sweeper`` (every
``_target_`` in them, recursively) and hands ``hydra.job_logging``/``hydra.hydra_logging`` to
``logging.config.dictConfig``, which imports every handler ``class``, every ``()`` factory
and every ``ext://`` value. :func:`check_config` refuses a composed config in which any of
these names something outside the lists below, or in which an interpolation could build such
a name when Hydra resolves it later; ``hydra.job.env_set`` may set only harmless variables.

Names are compared exactly (``hydra_plugins.x.os.makedirs`` is not
``hydra_plugins.x.Launcher``), and an allowed name must resolve to a class that is what its
own module and qualified name say, so an alias cannot smuggle in another object.
``ALIGNSIM_ALLOWED_TARGETS`` (comma-separated fully qualified class names, in the
environment of the person launching) adds classes; no config can.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from alignsim.errors import ConfigError

__all__ = [
    "ALLOWED_ENV_SET",
    "ALLOWED_LOGGING",
    "ALLOWED_TARGETS",
    "allowed_targets",
    "check_config",
    "check_targets",
]

ALLOWED_TARGETS = frozenset(
    {
        # alignsim's callback, launchers and sweeper.
        "alignsim.sweep.AggregateResults",
        "hydra_plugins.alignsim_launcher.local_launcher.LocalLauncher",
        "hydra_plugins.alignsim_ray_launcher.ray_launcher.RayLauncher",
        "hydra_plugins.alignsim_sweeper.sweeper.AlignsimSweeper",
        # Hydra's own launcher and sweeper.
        "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
        # Hydra's launcher plugins that alignsim documents (extras [slurm], joblib).
        "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
        "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
        "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher",
    }
)
"""Classes a ``_target_`` may name. More only through ``ALIGNSIM_ALLOWED_TARGETS``."""

ALLOWED_LOGGING = frozenset(
    {
        "logging.StreamHandler",
        "logging.FileHandler",
        "logging.NullHandler",
        "logging.handlers.RotatingFileHandler",
        "logging.handlers.TimedRotatingFileHandler",
        "logging.handlers.WatchedFileHandler",
        "logging.Formatter",
        "logging.Filter",
        "colorlog.ColoredFormatter",  # hydra/job_logging=colorlog (hydra-colorlog)
    }
)
"""Classes a ``class`` or ``()`` in Hydra's logging configs may name."""

ALLOWED_EXT = frozenset({"ext://sys.stdout", "ext://sys.stderr"})
"""The only ``ext://`` objects a logging config may import."""

ALLOWED_ENV_SET = frozenset(
    {
        "OMP_NUM_THREADS",
        "OMP_WAIT_POLICY",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "CUDA_VISIBLE_DEVICES",
        "TOKENIZERS_PARALLELISM",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
    }
)
"""Variables ``hydra.job.env_set`` may set (others, such as ``LD_PRELOAD``, ``PYTHONPATH`` or
``GIT_*``, could make a job's subprocesses run code): set anything else in your shell."""

ENV_VARIABLE = "ALIGNSIM_ALLOWED_TARGETS"
_QUALIFIED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
INSTANTIATED = ("callbacks", "launcher", "sweeper")
"""Subtrees of ``hydra`` that Hydra instantiates."""
LOGGING = ("job_logging", "hydra_logging")
"""Subtrees of ``hydra`` that Hydra passes to ``logging.config.dictConfig``."""
_HYDRA_REFERENCE = re.compile(r"\$\{(?:hydra\.|hydra:)([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\}")
_OUTPUT_DIR = ("${hydra.runtime.output_dir}", "${hydra:runtime.output_dir}")


def allowed_targets() -> frozenset[str]:
    """:data:`ALLOWED_TARGETS` plus the names in ``ALIGNSIM_ALLOWED_TARGETS``."""
    extra = {name.strip() for name in os.environ.get(ENV_VARIABLE, "").split(",") if name.strip()}
    for name in extra:
        if not _QUALIFIED.fullmatch(name):
            raise ConfigError(ENV_VARIABLE, f"{name!r} is not a fully qualified class name (package.module.Class)")
    return ALLOWED_TARGETS | extra


def _resolve(name: str) -> Any:
    """Import the longest module prefix of ``name`` and walk the rest as attributes."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def _check_class(field: str, name: str) -> None:
    """An allowed name must resolve to a class that its own module and qualified name also give."""
    try:
        obj = _resolve(name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(field, f"{name!r} cannot be imported here ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, type):
        raise ConfigError(field, f"{name!r} is not a class")
    try:
        canonical = _resolve(f"{obj.__module__}.{obj.__qualname__}")
    except (ImportError, AttributeError):
        canonical = None
    if canonical is not obj:
        raise ConfigError(field, f"{name!r} does not resolve to the class it names")


def _refuse(field: str, value: object, what: str, allowed: frozenset[str]) -> ConfigError:
    shown = value if isinstance(value, str) else type(value).__name__
    if what == "logging classes":
        advice = "logging handlers, formatters and filters must be these classes from the logging module"
    else:
        advice = f"to allow a class of your own, name it in the environment variable {ENV_VARIABLE}"
    return ConfigError(
        field,
        f"{shown!r} is not on the allow-list of {what} ({', '.join(sorted(allowed))}); {advice} "
        "(see docs/configuration.md)",
    )


def check_targets(node: Any, path: str = "", *, logging_tree: bool = False) -> None:
    """Raise ConfigError naming the field if ``node`` names a callable that is not allowed.

    Looks at ``_target_`` keys anywhere (the exact names of :func:`allowed_targets`), ``()``
    factory keys anywhere and ``class`` keys in logging configs (the exact names of
    :data:`ALLOWED_LOGGING`), and ``ext://`` values (only ``sys.stdout``/``sys.stderr``).
    Every allowed name that is used is imported and must be the class it names.
    """
    targets = allowed_targets()
    for here, key, value in _walk(node, path):
        in_logging = logging_tree or any(f"{part}." in f"{here}." for part in LOGGING)
        if key == "_target_":
            if not isinstance(value, str) or value not in targets:
                raise _refuse(here, value, "instantiable targets", targets)
            _check_class(here, value)
        elif key == "()" or (key == "class" and in_logging):
            if not isinstance(value, str) or value not in ALLOWED_LOGGING:
                raise _refuse(here, value, "logging classes", ALLOWED_LOGGING)
            _check_class(here, value)
        if isinstance(value, str) and value.startswith("ext://") and value not in ALLOWED_EXT:
            raise ConfigError(here, f"{value!r}: logging configs may only name {' or '.join(sorted(ALLOWED_EXT))}")


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """Every (field, key, value) below ``node``, parents before children."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, key, value
            yield from _walk(value, here)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            here = f"{path}[{i}]"
            yield here, i, value
            yield from _walk(value, here)


def check_config(cfg: Any) -> None:
    """Check a composed config (Hydra node included) before Hydra sees it: see the module docstring."""
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(raw, dict)
    check_targets(raw)
    hydra = raw.get("hydra")
    if not isinstance(hydra, dict):
        return
    for part in (*INSTANTIATED, *LOGGING):
        if part in hydra:
            _check_interpolations(hydra, hydra[part], f"hydra.{part}", logging_tree=part in LOGGING, seen=set())
    _check_env_set(hydra)


def _lone_interpolation(value: str) -> bool:
    """True when the whole string is one interpolation, which may resolve to any type (a node, too)."""
    from omegaconf.grammar_parser import parse

    try:
        text = parse(value).getChild(0)
    except Exception:
        return True  # not valid grammar: OmegaConf would fail later; refuse it here
    children = list(text.getChildren()) if text is not None else []
    return len(children) == 1 and type(children[0]).__name__ == "InterpolationContext"


def _lookup(hydra: Mapping[str, Any], dotted: str) -> Any:
    node: Any = hydra
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _check_interpolations(
    hydra: Mapping[str, Any], node: Any, path: str, *, logging_tree: bool, seen: set[str]
) -> None:
    """In a subtree Hydra instantiates or hands to ``dictConfig``, an interpolation must not be able to
    build a node (``${oc.create:...}``, ``${oc.decode:...}``, a reference to something swept) nor, in a
    logging config, a ``scheme://`` string: only plain references into ``hydra`` itself (followed and
    checked in turn) and strings that cannot start with a scheme are allowed."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            _check_interpolations(hydra, value, f"{path}.{key}", logging_tree=logging_tree, seen=seen)
        return
    if isinstance(node, list | tuple):
        for i, value in enumerate(node):
            _check_interpolations(hydra, value, f"{path}[{i}]", logging_tree=logging_tree, seen=seen)
        return
    if not isinstance(node, str) or "${" not in node:
        return
    if _lone_interpolation(node):
        reference = _HYDRA_REFERENCE.fullmatch(node)
        if reference is None:
            raise ConfigError(
                path,
                f"{node!r}: an interpolation that is the whole value may only reference the hydra node "
                "(e.g. ${hydra.sweep.dir}) in a part of the config Hydra instantiates",
            )
        target = reference[1]
        if target not in seen:
            seen.add(target)
            _check_interpolations(
                hydra, _lookup(hydra, target), f"hydra.{target}", logging_tree=logging_tree, seen=seen
            )
    safe_start = node.startswith(("/", *_OUTPUT_DIR)) or not _could_start_a_scheme(node)
    if logging_tree and not safe_start:
        raise ConfigError(
            path,
            f"{node!r}: in a logging config an interpolated value must start with an absolute path or "
            "${hydra.runtime.output_dir} (logging would import what an 'ext://' value names)",
        )


def _could_start_a_scheme(value: str) -> bool:
    """Whether the text before the first interpolation could still become ``scheme://`` once resolved."""
    head = value.split("${", 1)[0]
    return head == "" or bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*(:/{0,2})?", head))


def _check_env_set(hydra: Mapping[str, Any]) -> None:
    job = hydra.get("job") or {}
    env_set = job.get("env_set") or {}
    copied = set(job.get("env_copy") or [])
    for name, value in env_set.items():
        if name in ALLOWED_ENV_SET:
            continue
        if name in copied and os.environ.get(name) == value:
            continue  # hydra.job.env_copy: the launching user's own value, passed on to the job
        raise ConfigError(
            f"hydra.job.env_set.{name}",
            f"may not be set from a config (it can make a job's subprocesses run code); allowed: "
            f"{', '.join(sorted(ALLOWED_ENV_SET))}; set other variables in your shell",
        )

"""Compose the configuration exactly as ``alignsim run``/``alignsim sweep`` will, before Hydra runs.

:func:`parse_args` reads a command line with Hydra's own argument parser (so ``-cn X``,
``--config-name=X``, ``--config-dir=DIR``, ``--cfg job`` ... mean what they mean to Hydra), and
:class:`Composer` builds the config search path the way ``@hydra.main`` does for
``alignsim.cli`` and composes with Hydra's own config loader. Hydra's errors become one
:class:`~alignsim.errors.ConfigError` naming the field, with a "did you mean" where a name is
close to a known one.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alignsim.errors import ConfigError, did_you_mean

__all__ = ["EDITABLE_PREFIXES", "Composer", "HydraArgs", "parse_args"]

CALLING_MODULE = "alignsim.cli"
"""The module whose ``@hydra.main(config_path="conf")`` runs the jobs: the search path starts there."""
DEFAULT_CONFIG_PATH = "conf"
DEFAULT_CONFIG_NAME = "config"
EDITABLE_PREFIXES = ("scenario.env_kwargs.", "scenario.seating.", "llm.params.", "llm.backend_options.", "llm.memory.")
"""Dicts whose keys depend on the env, the scenario or the backend: a plain override of a key they do not hold
yet adds it (Hydra would want ``++``), so documented overrides work on every scenario."""


class UnknownKeyError(ConfigError):
    """An override names a key the config does not have; ``override_key`` is the override's own key."""

    def __init__(self, field: str, message: str, *, override_key: str) -> None:
        super().__init__(field, message)
        self.override_key = override_key


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print usage and exit 2 with no field
        raise ConfigError("arguments", message)


@dataclass
class HydraArgs:
    """A command line as Hydra reads it: flags and overrides."""

    namespace: argparse.Namespace

    @property
    def overrides(self) -> list[str]:
        """The ``key=value`` overrides, in command-line order."""
        return list(self.namespace.overrides)

    @property
    def config_name(self) -> str:
        """The primary config's name (``--config-name``; default ``config``)."""
        return self.namespace.config_name or DEFAULT_CONFIG_NAME

    @property
    def multirun(self) -> bool:
        """Whether ``--multirun`` (``-m``) was given."""
        return bool(self.namespace.multirun)

    @property
    def shows(self) -> bool:
        """Whether Hydra only prints something (``--cfg``, ``--info``, ``--help``, ``--hydra-help``)."""
        ns = self.namespace
        return bool(ns.cfg or ns.info or ns.help or ns.hydra_help)

    def argv(self, overrides: Sequence[str]) -> list[str]:
        """The command line for Hydra: these flags, then ``overrides``."""
        ns = self.namespace
        out: list[str] = []
        for flag, value in (
            ("--config-path", ns.config_path),
            ("--config-name", ns.config_name),
            ("--config-dir", ns.config_dir),
            ("--cfg", ns.cfg),
            ("--package", ns.package),
            ("--info", ns.info),
        ):
            if value is not None:
                out.append(f"{flag}={value}")
        for flag, on in (
            ("--multirun", ns.multirun),
            ("--run", ns.run),
            ("--resolve", ns.resolve),
            ("--help", ns.help),
            ("--hydra-help", ns.hydra_help),
        ):
            if on:
                out.append(flag)
        return [*out, *overrides]


def parse_args(args: Sequence[str]) -> HydraArgs:
    """Parse ``args`` with Hydra's parser; refuse the flags alignsim does not support."""
    from hydra._internal.utils import get_args_parser

    hydra_parser = get_args_parser()
    parser = _Parser(add_help=False, parents=[hydra_parser], prog="alignsim")
    ns = parser.parse_intermixed_args(list(args))  # overrides may come before and after flags
    if ns.experimental_rerun is not None:
        raise ConfigError("--experimental-rerun", "is not supported: it loads a pickle, which can run any code")
    if ns.shell_completion:
        raise ConfigError("--shell-completion", "is not supported by alignsim")
    if ns.config_path is not None and ns.config_path.endswith((".yaml", ".yml")):
        raise ConfigError("--config-path", "names a folder; give the file's name with --config-name")
    if ns.config_dir is not None:
        folder = os.path.abspath(ns.config_dir)
        if not os.path.isdir(folder):
            raise ConfigError("--config-dir", f"no folder {folder}")
        ns.config_dir = folder
    if ns.config_path is not None and os.path.isabs(ns.config_path) and not os.path.isdir(ns.config_path):
        raise ConfigError("--config-path", f"no folder {ns.config_path}")
    return HydraArgs(ns)


class Composer:
    """Hydra's config loader over the search path ``alignsim run`` gets; use as a context manager.

    Args:
        args: the parsed command line; its ``--config-path``/``--config-dir`` flags set the search path.
    """

    def __init__(self, args: HydraArgs) -> None:
        from hydra._internal.hydra import Hydra
        from hydra._internal.utils import create_automatic_config_search_path, detect_task_name
        from hydra.core.config_search_path import SearchPathQuery
        from hydra.core.global_hydra import GlobalHydra

        from alignsim.conf import register_configs

        register_configs()
        self.args = args
        config_path = args.namespace.config_path or DEFAULT_CONFIG_PATH
        search_path = create_automatic_config_search_path(None, CALLING_MODULE, config_path)
        if args.namespace.config_dir is not None:
            search_path.prepend(
                provider="command-line",
                path=f"file://{args.namespace.config_dir}",
                anchor=SearchPathQuery(provider="schema"),
            )
        GlobalHydra.instance().clear()
        self.hydra = Hydra.create_main_hydra2(
            task_name=detect_task_name(None, CALLING_MODULE), config_search_path=search_path
        )

    def __enter__(self) -> Composer:
        """The composer itself; leaving the block clears Hydra's global state."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Clear Hydra's global state, so that the next :class:`Composer` can initialise it."""
        from hydra.core.global_hydra import GlobalHydra

        GlobalHydra.instance().clear()

    def compose(self, overrides: Sequence[str], *, multirun: bool = False) -> Any:
        """The config (Hydra node included) for ``overrides``; a multirun config ignores swept values."""
        from hydra.types import RunMode

        try:
            return self.hydra.compose_config(
                self.args.config_name,
                list(overrides),
                run_mode=RunMode.MULTIRUN if multirun else RunMode.RUN,
                with_log_configuration=False,
            )
        except Exception as exc:
            raise self._config_error(exc) from None

    def group_options(self, group: str) -> list[str]:
        """The options of a config group (``llm``), nested groups' too (``scenario``: ``traitors/mini-v0``)."""
        repository = self.hydra.config_loader.repository  # type: ignore[attr-defined]
        found = []
        for name in repository.get_group_options(group, results_filter=None):
            if repository.group_exists(f"{group}/{name}"):
                found += [f"{name}/{sub}" for sub in self.group_options(f"{group}/{name}")]
            if repository.config_exists(f"{group}/{name}"):
                found.append(name)
        return sorted(n for n in set(found) if "schema" not in n)

    def _config_error(self, exc: Exception) -> ConfigError:
        """One line naming the field, from whatever Hydra or OmegaConf raised."""
        cause = exc.__cause__
        message = str(exc)
        missing = re.search(r"Could not find '([^']+)'", message)
        if missing:  # an unknown option of a config group: name the group and the closest options
            group, _, option = missing[1].rpartition("/")
            root = group.split("/")[0] if not group.startswith("hydra/") else group
            prefix = group[len(root) + 1 :] if group != root else ""
            options = self.group_options(root)
            wanted = f"{prefix}/{option}" if prefix else option
            kinds = {"llm": "llm", "scenario": "scenarios", "experiment": "experiments"}
            listing = f"; see `alignsim list {kinds[root]}`" if root in kinds else ""
            shown = ", ".join(options) if len(options) <= 12 else f"{len(options)} options"
            return ConfigError(
                root, f"{wanted!r} is not an option{did_you_mean(wanted, options)} (options: {shown}){listing}"
            )
        ambiguous = re.search(r"(?:Ambiguous value for argument|Sweep parameters) '([^=']+)=([^']*)'", message)
        if ambiguous:
            key = ambiguous[1].lstrip("+~")
            return ConfigError(
                key,
                f"several values ({ambiguous[2]}) make a sweep: use `alignsim sweep name=NAME ...` (or --multirun); "
                f"for a list write {key}=[{ambiguous[2]}]",
            )
        yaml_file = re.search(r'in "([^"]+\.ya?ml)", line (\d+)', message)
        if yaml_file:
            return ConfigError(f"{yaml_file[1]}:{yaml_file[2]}", f"not valid YAML: {_first_line(message)}")
        unloadable = re.search(r"In '([^']+)': Could not load '([^']+)'", message)
        if unloadable:
            return ConfigError(
                "defaults", f"{unloadable[1]!r} lists {unloadable[2]!r}, which is not in the config search path"
            )
        primary = re.search(r"Cannot find primary config '([^']+)'", message)
        if primary:
            return ConfigError("--config-name", f"no config {primary[1]!r} in the config search path")
        composing = re.search(
            r"In '([^']+)': \w+ raised while composing config: (.*?)\s+full_key: (\S+)", message, re.S
        )
        if composing:
            return ConfigError(composing[3], f"{' '.join(composing[2].split())} (in {composing[1]})")
        occupied = re.search(r"Could not append to config\. An item is already at '([^']+)'", message)
        if occupied:
            return ConfigError(occupied[1], "already set: drop the '+' to change it, or write '++' to add or change it")
        no_group = re.search(r"Could not override '([^']+)'\. No match in the defaults list", message)
        if no_group:
            return ConfigError(no_group[1], "this config has no such config group (to add one: +KEY=OPTION)")
        overriding = re.search(r"Could not (?:override|append to config)[^']*'([^']+)'", message)
        if overriding and cause is not None and "not in" in str(cause):
            key = overriding[1]
            parent = getattr(cause, "parent_node", None)
            known = [str(k) for k in parent] if isinstance(parent, Mapping) else []
            leaf = str(getattr(cause, "key", None) or key.rsplit(".", 1)[-1])
            field = str(getattr(cause, "full_key", None) or key)
            hint = did_you_mean(leaf, known)
            listing = f"; known: {', '.join(known)}" if known and not hint else ""
            return UnknownKeyError(field, f"unknown key{hint}{listing}", override_key=key)
        if cause is not None:
            field = str(getattr(cause, "full_key", None) or "overrides")
            return ConfigError(field, _first_line(str(cause)))
        if type(exc).__name__ == "OverrideParseException":
            return ConfigError("overrides", f"cannot parse an override: {_first_line(message)}")
        return ConfigError("overrides", " ".join(message.split()))


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message

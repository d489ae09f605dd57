"""Every route by which a config could make Hydra call something: each must be refused before any work.

Each case names a canary (``tests.security.canary``: calling, constructing, unpickling or
importing it writes a file) through one route, and asserts that the file never appears, that
the command exits 2 with one ``config error:`` line naming the field, with no traceback, and
that nothing was written (no ``runs/``, ``multirun/``, ``sweeps/`` or ``out_dir``).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from alignsim.conf.safety import ALLOWED_LOGGING, ALLOWED_TARGETS, check_config, check_targets
from alignsim.errors import ConfigError
from tests.config_harness import assert_rejected, invoke, tree
from tests.security.canary import Pickled

CANARY = "tests.security.canary"
EVIL_CALLBACK = f"# @package _global_\nhydra:\n  callbacks:\n    evil:\n      _target_: {CANARY}.Canary\n"
PRIMARY = f"defaults:\n  - config\n  - _self_\nhydra:\n  callbacks:\n    z:\n      _target_: {CANARY}.touch\n"
MULTIRUN_PRIMARY = (
    f"defaults:\n  - config\n  - _self_\nhydra:\n  mode: MULTIRUN\n  sweeper:\n    _target_: {CANARY}.Canary\n"
)


@dataclass
class Route:
    args: list[str]
    field: str
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    command: str = "run"
    scenario: bool = True
    """Pass ``scenario=traitors/mini-v0`` (a primary config of one's own may have no scenario group)."""


def experiment(body: str) -> dict[str, str]:
    return {"conf/experiment/x.yaml": "# @package _global_\n" + body}


ROUTES = {
    # 1. A plugin module's attributes: hydra_plugins.<plugin>.<module>.os.makedirs (the reported exploit).
    "plugin-module-attribute": Route(
        [
            "+hydra.callbacks.x._target_=hydra_plugins.hydra_submitit_launcher.submitit_launcher.os.makedirs",
            "+hydra.callbacks.x.name=PWNED",
        ],
        "hydra.callbacks.x._target_",
    ),
    "plugin-module-attribute-in-experiment": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.callbacks.x._target_",
        experiment(
            "hydra:\n  callbacks:\n    x:\n"
            "      _target_: hydra_plugins.hydra_joblib_launcher.joblib_launcher.os.makedirs\n      name: PWNED\n"
        ),
    ),
    "callback-in-experiment-config-dir-equals": Route(
        ["--config-dir=conf", "+experiment=x"],
        "hydra.callbacks.evil._target_",
        {"conf/experiment/x.yaml": EVIL_CALLBACK},
    ),
    "callback-in-sweep-experiment": Route(
        ["name=s", "--config-dir=conf", "+experiment=x", "seed=0,1"],
        "hydra.callbacks.evil._target_",
        {"conf/experiment/x.yaml": EVIL_CALLBACK},
        command="sweep",
    ),
    "callback-override": Route([f"+hydra.callbacks.x._target_={CANARY}.Canary"], "hydra.callbacks.x._target_"),
    "nested-target-in-allowed-callback": Route(
        [f"+hydra.callbacks.aggregate.report._target_={CANARY}.Canary"], "hydra.callbacks.aggregate.report._target_"
    ),
    # 2. The config that actually runs: --config-name / -cn with -cd / -cp, every spelling.
    "primary-config-cn-cd": Route(
        ["-cd", "conf", "-cn", "mine"],
        "hydra.callbacks.z._target_",
        {"conf/mine.yaml": PRIMARY},
    ),
    "primary-config-equals-forms": Route(
        ["--config-dir=conf", "--config-name=mine"],
        "hydra.callbacks.z._target_",
        {"conf/mine.yaml": PRIMARY},
    ),
    "primary-config-cp-absolute": Route(
        ["-cp", "{cwd}/alone", "-cn", "mine"],
        "hydra.callbacks.z._target_",
        {"alone/mine.yaml": f"hydra:\n  callbacks:\n    z:\n      _target_: {CANARY}.Canary\n"},
        scenario=False,
    ),
    "primary-config-multirun-mode": Route(
        ["-cd", "conf", "-cn", "mine"],
        "hydra.sweeper._target_",
        {"conf/mine.yaml": MULTIRUN_PRIMARY},
    ),
    "searchpath-override": Route(
        ["hydra.searchpath=[file://{cwd}/conf]", "+experiment=x"],
        "hydra.callbacks.evil._target_",
        {"conf/experiment/x.yaml": EVIL_CALLBACK},
    ),
    # 3. Logging: handler classes, () factories, ext:// imports, in job_logging and hydra_logging.
    "logging-class-function": Route(
        ["+hydra.job_logging.handlers.h.class=logging.config.fileConfig"], "hydra.job_logging.handlers.h.class"
    ),
    "logging-class-canary": Route(
        [f"+hydra.hydra_logging.handlers.h.class={CANARY}.Canary"], "hydra.hydra_logging.handlers.h.class"
    ),
    "logging-handler-factory": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.job_logging.handlers.h.()",
        experiment(f"hydra:\n  job_logging:\n    handlers:\n      h:\n        (): {CANARY}.touch\n"),
    ),
    "logging-plugin-module-factory": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.job_logging.handlers.h.()",
        experiment(
            "hydra:\n  job_logging:\n    handlers:\n      h:\n"
            "        (): hydra_plugins.hydra_submitit_launcher.submitit_launcher.os.makedirs\n        name: PWNED\n"
        ),
    ),
    "logging-formatter-factory": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.hydra_logging.formatters.f.()",
        experiment(f"hydra:\n  hydra_logging:\n    formatters:\n      f:\n        (): {CANARY}.touch\n"),
    ),
    "logging-filter-factory": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.job_logging.filters.f.()",
        experiment(f"hydra:\n  job_logging:\n    filters:\n      f:\n        (): {CANARY}.touch\n"),
    ),
    "logging-ext-import": Route(
        ["hydra.job_logging.handlers.console.stream=ext://tests.security.canary_import.stream"],
        "hydra.job_logging.handlers.console.stream",
    ),
    "logging-interpolated-ext": Route(
        ["hydra.job_logging.handlers.console.stream=ext:/${oc.env:CANARY_PATH}"],
        "hydra.job_logging.handlers.console.stream",
        env={"CANARY_PATH": "/tests.security.canary_import.stream"},
    ),
    "logging-factory-shown-by-help": Route(
        ["--help", "--config-dir", "conf", "+experiment=x"],
        "hydra.hydra_logging.handlers.h.()",
        experiment(f"hydra:\n  hydra_logging:\n    handlers:\n      h:\n        (): {CANARY}.touch\n"),
    ),
    "logging-factory-with-hydra-help": Route(
        ["--hydra-help", "--config-dir", "conf", "+experiment=x"],
        "hydra.hydra_logging.handlers.h.()",
        experiment(f"hydra:\n  hydra_logging:\n    handlers:\n      h:\n        (): {CANARY}.touch\n"),
    ),
    "logging-factory-with-cfg": Route(
        ["--cfg", "job", "--config-dir", "conf", "+experiment=x"],
        "hydra.hydra_logging.handlers.h.()",
        experiment(f"hydra:\n  hydra_logging:\n    handlers:\n      h:\n        (): {CANARY}.touch\n"),
    ),
    # 4. Launchers and sweepers: overrides, config-dir options, multirun.
    "launcher-target-multirun": Route(
        ["-m", f"hydra.launcher._target_={CANARY}.Canary", "seed=0,1"], "hydra.launcher._target_"
    ),
    "launcher-option-from-config-dir": Route(
        ["name=s", "--config-dir", "conf", "hydra/launcher=evil", "seed=0,1"],
        "hydra.launcher._target_",
        {"conf/hydra/launcher/evil.yaml": f"_target_: {CANARY}.Canary\n"},
        command="sweep",
    ),
    "sweeper-target": Route(
        ["name=s", f"hydra.sweeper._target_={CANARY}.Canary", "seed=0,1"], "hydra.sweeper._target_", command="sweep"
    ),
    "swept-experiment-option": Route(
        ["name=s", "--config-dir", "conf", "+experiment=ok,x"],
        "hydra.job_logging.handlers.h.()",
        {
            "conf/experiment/ok.yaml": "# @package _global_\nepisodes: 1\n",
            **experiment(f"hydra:\n  job_logging:\n    handlers:\n      h:\n        (): {CANARY}.touch\n"),
        },
        command="sweep",
    ),
    "swept-value-holding-a-target": Route(
        ["name=s", f"+evil={{_target_:{CANARY}.Canary}},{{a:1}}"], "evil._target_", command="sweep"
    ),
    # 5. Interpolations that build a target when Hydra resolves them.
    "interpolated-target-string": Route(
        ["+hydra.callbacks.x._target_=${oc.env:CANARY_TARGET}"],
        "hydra.callbacks.x._target_",
        env={"CANARY_TARGET": f"{CANARY}.Canary"},
    ),
    "oc-create-node": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.callbacks.x",
        experiment(f'hydra:\n  callbacks:\n    x: "${{oc.create:{{_target_: {CANARY}.Canary}}}}"\n'),
    ),
    "oc-decode-node": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.callbacks.x",
        experiment(f"hydra:\n  callbacks:\n    x: \"${{oc.decode:'{{_target_: {CANARY}.Canary}}'}}\"\n"),
    ),
    "reference-to-a-task-node": Route(
        [f"+evil={{_target_:{CANARY}.Canary}}", "+hydra.callbacks.x=${evil}"], "evil._target_"
    ),
    "reference-to-a-created-task-node": Route(
        ["--config-dir", "conf", "+experiment=x"],
        "hydra.job_logging.made",
        experiment(
            f'hydra:\n  job_logging:\n    made: "${{oc.create:{{_target_: {CANARY}.Canary}}}}"\n'
            "  callbacks:\n    x: ${hydra.job_logging.made}\n"
        ),
    ),
    # 6. The allow-list's own extension, and the job's environment.
    "env-allow-list-prefix": Route(
        [f"+hydra.callbacks.x._target_={CANARY}.Canary"],
        "ALIGNSIM_ALLOWED_TARGETS",
        env={"ALIGNSIM_ALLOWED_TARGETS": "tests."},
    ),
    "env-allow-list-function": Route(
        [f"+hydra.callbacks.x._target_={CANARY}.touch"],
        "hydra.callbacks.x._target_",
        env={"ALIGNSIM_ALLOWED_TARGETS": f"{CANARY}.touch"},
    ),
    "env-allow-list-module-attribute": Route(
        [f"+hydra.callbacks.x._target_={CANARY}.os.makedirs", "+hydra.callbacks.x.name=PWNED"],
        "hydra.callbacks.x._target_",
        env={"ALIGNSIM_ALLOWED_TARGETS": f"{CANARY}.os.makedirs"},
    ),
    "env-set-allow-list": Route(
        [f"+hydra.job.env_set.ALIGNSIM_ALLOWED_TARGETS={CANARY}.Canary"], "hydra.job.env_set.ALIGNSIM_ALLOWED_TARGETS"
    ),
    "env-set-pythonpath": Route(["+hydra.job.env_set.PYTHONPATH=/tmp", "workers=2"], "hydra.job.env_set.PYTHONPATH"),
    "env-set-ld-preload": Route(["+hydra.job.env_set.LD_PRELOAD=/tmp/x.so"], "hydra.job.env_set.LD_PRELOAD"),
    # 7. Hydra's pickle rerun.
    "experimental-rerun-pickle": Route(["--experimental-rerun", "config.pickle"], "--experimental-rerun"),
    # 8. A target in the task's own config (alignsim never instantiates it; refused all the same).
    "task-config-target": Route([f"+scenario._target_={CANARY}.Canary"], "scenario._target_"),
}


@pytest.mark.parametrize("name", list(ROUTES))
def test_no_route_calls_a_callable_outside_the_allow_list(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    route = ROUTES[name]
    work = tmp_path / "work"
    work.mkdir()
    canary = tmp_path / "CANARY"
    monkeypatch.setenv("ALIGNSIM_CANARY", str(canary))
    for key, value in route.env.items():
        monkeypatch.setenv(key, value)
    for relative, text in route.files.items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(text)
    with (work / "config.pickle").open("wb") as handle:
        pickle.dump(Pickled(str(canary)), handle)
    args = [a.replace("{cwd}", str(work)) for a in route.args]
    out = work / "out"
    scenario = ["scenario=traitors/mini-v0"] if route.scenario else []
    outcome = invoke([route.command, *scenario, *args, f"+out_dir={out}"], work, capsys)
    assert not canary.exists(), "a callable outside the allow-list was called"
    assert not (work / "PWNED").exists()
    assert_rejected(outcome, route.command, route.field)


def test_the_reported_exploit_is_refused_by_the_real_command(tmp_path: Path) -> None:
    """The issue's reproduction, verbatim, through the installed command in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), *sys.path])}
    before = tree(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "alignsim.cli",
            "run",
            "scenario=traitors/mini-v0",
            f"out_dir={tmp_path / 'x'}",
            "+hydra.callbacks.x._target_=hydra_plugins.hydra_submitit_launcher.submitit_launcher.os.makedirs",
            f"+hydra.callbacks.x.name={tmp_path / 'PWNED'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert not (tmp_path / "PWNED").exists()
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("alignsim run: config error: hydra.callbacks.x._target_:")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert tree(tmp_path) == before


def test_allowed_names_are_exact_and_resolve_to_the_class_they_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALLOWED_TARGETS:
        if name.startswith("hydra_plugins.hydra_submitit") and not _installed("submitit"):
            continue
        check_targets({"hydra": {"callbacks": {"x": {"_target_": name}}}})
    for name in ALLOWED_LOGGING - {"colorlog.ColoredFormatter"}:
        check_targets({"hydra": {"job_logging": {"handlers": {"h": {"class": name}}}}})
    for near in (
        "alignsim.sweep.AggregateResults.__init__",
        "alignsim.sweep.os.system",
        "hydra_plugins.alignsim_launcher.local_launcher.Path",
        " alignsim.sweep.AggregateResults",
        "alignsim.sweep.aggregate",
    ):
        with pytest.raises(ConfigError, match="not on the allow-list"):
            check_targets({"_target_": near})
    monkeypatch.setenv("ALIGNSIM_ALLOWED_TARGETS", "tests.security.canary.Canary, logging.handlers.os.system")
    check_targets({"_target_": "tests.security.canary.Canary"})  # a class the launching user allowed
    with pytest.raises(ConfigError, match="is not a class"):
        check_targets({"_target_": "logging.handlers.os.system"})


def test_the_default_configs_pass_the_checks() -> None:
    from alignsim.conf.compose import Composer, parse_args

    with Composer(parse_args([])) as composer:
        for overrides in (
            [],
            ["hydra/launcher=local"],
            ["hydra/launcher=joblib"],
            ["hydra/launcher=ray"],
            ["hydra/launcher=basic", "hydra/sweeper=basic"],
            ["+experiment=traitors_crossplay"],
        ):
            check_config(composer.compose(overrides))


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None

"""Analysis is a pure function of logs: it never imports an environment, a policy or the runner.

One exception, and only one: :mod:`alignsim.analysis.baselines` plays null-policy episodes for
the chance baselines (a metric's value under random play on the same configuration does not
exist until it is simulated). It is imported only when chance baselines are computed, so
importing any other analysis module, or the package, still loads no env, policy or runner.

And one reading of declarations: :func:`alignsim.analysis.families.family_of` asks the env
registry for the family a game declares (its ``GameInfo``); the registry holds entry-point
strings, so no environment is imported, and the import happens only when a log is analysed.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import alignsim.analysis

FORBIDDEN = ("alignsim.envs", "alignsim.agents", "alignsim.run", "alignsim.scenarios", "alignsim.conf")
SIMULATES_NULL = "alignsim.analysis.baselines"
"""The one analysis module allowed to import FORBIDDEN modules (see the module docstring)."""
READS_GAME_INFO = ("alignsim.analysis.families", "alignsim.envs.game_info")
"""The one import of the env registry's declarations: (module, name)."""


JUDGES = ("alignsim.analysis.annotate", "alignsim.agents.llm.")
"""The annotation layer's judges call models through the agents' backend layer and read claims
with the agents' documented claim grammar (``alignsim.agents.llm.prompting``): its modules may
import ``alignsim.agents.llm.*``, and nothing else the rule forbids."""


def _modules() -> list[str]:
    return [f"alignsim.analysis.{m.name}" for m in pkgutil.iter_modules(alignsim.analysis.__path__)]


def _module_files() -> list[tuple[str, Path]]:
    """Every module of the analysis package, subpackages included, with its source file."""
    found = []
    for info in pkgutil.walk_packages(alignsim.analysis.__path__, "alignsim.analysis."):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            found.append((info.name, Path(spec.origin)))
    return found


def test_analysis_imports_only_record_and_errors_from_alignsim() -> None:
    modules = [m for m in _modules() if m != SIMULATES_NULL]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = json.loads(done.stdout)
    ours = [m for m in loaded if m.startswith("alignsim")]
    assert not [m for m in ours if m.startswith(FORBIDDEN)], ours
    # limits: the documented maxima and read caps, a ground-floor module like errors.
    # registry: the entry-point registry the family plug-ins use (it imports only errors).
    allowed = {"analysis", "record", "errors", "limits", "registry"}
    assert {m.split(".")[1] for m in ours if m.count(".") >= 1} <= allowed
    # Plots use matplotlib's object API on Agg; pyplot (and its global backend) stays out.
    assert "matplotlib.pyplot" not in loaded
    assert "alignsim.analysis.api" in loaded
    assert SIMULATES_NULL not in loaded, "the null simulation must load only when chance baselines are computed"


def test_only_the_null_simulation_names_an_env_policy_or_the_runner() -> None:
    """Static: no import statement anywhere in the analysis package (functions included) reaches
    the envs, policies, scenarios, config or runner, except in the null-simulation module."""
    offenders = []
    for module, path in _module_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            bad = [n for n in names if n.startswith(FORBIDDEN) and (module, n) != READS_GAME_INFO]
            if module.startswith(JUDGES[0]):
                bad = [n for n in bad if not (n + ".").startswith(JUDGES[1])]
            if module == READS_GAME_INFO[0] and isinstance(node, ast.ImportFrom):
                bad = [n for n in bad if n != "alignsim.envs"]  # the module part of the one allowed import
            if bad and module != SIMULATES_NULL:
                offenders.append((module, node.lineno, bad))
    assert not offenders, offenders


def test_importing_the_package_stays_light() -> None:
    """``alignsim view`` imports alignsim.analysis.transcript; that must not pull in pandas."""
    code = "import sys, alignsim.analysis; print('pandas' in sys.modules, 'matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]

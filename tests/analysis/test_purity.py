"""Analysis is a pure function of logs: it never imports an environment, a policy or the runner."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import alignsim.analysis

FORBIDDEN = ("alignsim.envs", "alignsim.agents", "alignsim.run", "alignsim.scenarios", "alignsim.conf")


def test_analysis_imports_only_record_and_errors_from_alignsim() -> None:
    modules = [f"alignsim.analysis.{m.name}" for m in pkgutil.iter_modules(alignsim.analysis.__path__)]
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
    assert {m.split(".")[1] for m in ours if m.count(".") >= 1} <= {"analysis", "record", "errors", "limits"}
    # Plots use matplotlib's object API on Agg; pyplot (and its global backend) stays out.
    assert "matplotlib.pyplot" not in loaded
    assert "alignsim.analysis.api" in loaded


def test_importing_the_package_stays_light() -> None:
    """``alignsim view`` imports alignsim.analysis.transcript; that must not pull in pandas."""
    code = "import sys, alignsim.analysis; print('pandas' in sys.modules, 'matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]

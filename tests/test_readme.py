"""The README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(python3 -m venv .*?)\n```", readme)
    assert len(blocks) == 2, "the README has exactly two set-up commands"
    run_main, run_tests = blocks
    assert run_main.endswith("alignsim run")
    assert run_tests in (ROOT / ".ci" / "run").read_text()

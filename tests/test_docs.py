"""The documentation site builds with no warning, and its catalogues come from the registries.

``mkdocs build --strict`` fails on any warning: a broken link or anchor, a page missing
from the nav's targets, a docstring mkdocstrings cannot parse. The catalogue pages are
written at build time by ``docs/hooks/catalogues.py``; the test checks that every
registered scenario, env, policy and metric is on them, so a registry entry cannot be
missing from the docs.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def page_text(site: Path, page: str) -> str:
    """The visible text of a built page's article."""
    raw = (site / page / "index.html").read_text()
    article = raw[raw.index("<article") : raw.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", " ", article))


def clean_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "NO_MKDOCS_2_WARNING": "1",  # Material's banner about MkDocs 2.0 (not a build warning)
    }


REGISTERED = """
import json, alignsim.agents, alignsim.envs, alignsim.scenarios
from alignsim.analysis.metrics import METRICS
print(json.dumps({
    "scenarios": alignsim.scenarios.ids(), "envs": alignsim.envs.ids(), "policies": alignsim.agents.ids(),
    "metrics": [[m.name, m.label] for m in METRICS],
}))
"""


@pytest.fixture(scope="module")
def registered() -> dict[str, list[Any]]:
    """What the registries hold in a fresh process like the docs build's (tests register extra entries)."""
    done = subprocess.run(
        [sys.executable, "-c", REGISTERED], env=clean_env(), capture_output=True, text=True, check=True, timeout=300
    )
    data: dict[str, list[Any]] = json.loads(done.stdout)
    return data


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)]
    built = subprocess.run(
        command,
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stdout}\n{built.stderr}"
    return out


def test_docs_build_strict(site: Path) -> None:
    assert (site / "index.html").exists()
    api = page_text(site, "api/run")  # mkdocstrings rendered the runner's docstrings
    assert "EpisodeRunner" in api and "Plays episodes of one scenario" in api


def test_catalogues_list_every_registered_entry(site: Path, registered: dict[str, list[Any]]) -> None:
    scenarios = page_text(site, "catalogue/scenarios")
    assert [sid for sid in registered["scenarios"] if f" {sid} " not in f" {scenarios} "] == []
    policies = page_text(site, "catalogue/policies")
    assert [e for e in registered["envs"] + registered["policies"] if e not in policies] == []
    metrics = page_text(site, "catalogue/metrics")
    assert [m for m in registered["metrics"] if m[0] not in metrics or m[1] not in metrics] == []


def test_cli_page_shows_the_usage_text(site: Path) -> None:
    from alignsim.cli import USAGE

    cli = page_text(site, "reference/cli")
    assert all(line.split()[1] in cli for line in USAGE.splitlines() if line.startswith("alignsim "))

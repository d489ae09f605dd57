"""A third-party game plugs in by entry points only, and everything alignsim does works on it.

``tests/plugin_game`` is a small distribution, ``lynchgame`` (what
``docs/tutorials/environment.md`` walks through): a village votes each day to lynch the
hidden wolf. Its ``pyproject.toml`` registers, by entry points only, the env (with its
``GameInfo`` and its own ``ballot`` and ``verdict`` events), two scenarios, a scripted
policy, an LLM adapter and a family analysis. The test installs it as pip would (its folder
on the path and a ``*.dist-info`` with the entry points read from ``pyproject.toml``) for a
fresh process, which then runs, replays, reruns, forks, analyses and views it through the
command line, and certifies the env and the policies with :mod:`alignsim.testing`. Nothing
in ``alignsim/`` names the game.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tests" / "plugin_game"
TUTORIAL = ROOT / "docs" / "tutorials" / "environment.md"

DRIVER = r'''
import contextlib, io, json, sys
from pathlib import Path

from alignsim import cli

out = Path(sys.argv[1])
facts = {}


def alignsim(*args):
    """`alignsim ARGS...` in this process; its exit code and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main([str(a) for a in args])
    facts.setdefault("commands", []).append([" ".join(map(str, args)), code])
    return printed.getvalue()


facts["lynchgame imported before any command"] = "lynchgame" in sys.modules
facts["list"] = alignsim("list", "envs") + alignsim("list", "scenarios") + alignsim("list", "policies")
alignsim("run", "scenario=lynchgame/bandwagon-v0", "episodes=4", f"out_dir={out}/bandwagon")
alignsim("run", "scenario=lynchgame/llm-v0", "episodes=2", f"out_dir={out}/llm")
llm_log = sorted((out / "llm" / "episodes").glob("*.jsonl"))[0]
bandwagon_log = sorted((out / "bandwagon" / "episodes").glob("*.jsonl"))[0]
facts["replay"] = alignsim("replay", out / "bandwagon", out / "llm")
facts["rerun"] = alignsim("replay", llm_log, "--rerun", out / "rerun")
alignsim("fork", bandwagon_log, "--swap-policy", "wolf=lynchgame/bandwagon", "--out", out / "forks")
fork_log = sorted((out / "forks" / "episodes").glob("*.jsonl"))[0]
facts["fork replay"] = alignsim("replay", fork_log)
facts["analyze"] = alignsim(
    "analyze", out / "bandwagon", out / "llm", "--out", out / "analysis", "--no-plots", "--no-chance"
)
facts["transcript"] = alignsim("view", bandwagon_log)
facts["private transcript"] = alignsim("view", bandwagon_log, "--private")
alignsim("view", bandwagon_log, "--html", out / "page.html")
alignsim("view", bandwagon_log, "--html", out / "private-page.html", "--private")

from alignsim.record import read_log
from alignsim.testing import check_env, check_policy

log = read_log(bandwagon_log)
facts["event classes"] = sorted({f"{type(e).__module__}.{type(e).__name__}" for e in log.events})
facts["fork parent"] = read_log(fork_log).header.parent
facts["check_env"] = check_env("lynchgame-v0", tmp_dir=out / "check").steps
policy = check_policy("lynchgame/bandwagon", tmp_dir=out / "check")
facts["check_policy"] = [policy.env_id, policy.roles, policy.decisions, policy.invalid]
llm = check_policy("llm", env_id="lynchgame-v0", policy_kwargs={"model": "mock/scripted"}, tmp_dir=out / "check")
facts["check_policy llm"] = [llm.roles, llm.decisions, llm.invalid_rate]
print(json.dumps(facts))
'''


def install(site: Path) -> None:
    """What ``pip install -e tests/plugin_game`` adds (with the package folder on the path): a
    ``dist-info`` whose ``entry_points.txt`` holds the entry points of ``pyproject.toml``."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    dist = site / f"{project['name']}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    groups = [
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
        for group, entries in project["entry-points"].items()
    ]
    (dist / "entry_points.txt").write_text("\n".join(groups))


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    site = tmp_path_factory.mktemp("site")
    out = tmp_path_factory.mktemp("out")
    install(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site), str(PACKAGE)])}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out)], env=env, capture_output=True, text=True, timeout=300, cwd=out
    )
    assert done.returncode == 0, done.stderr[-4000:]
    data: dict = json.loads(done.stdout.strip().splitlines()[-1])
    data["out"] = str(out)
    return data


def test_every_command_succeeds_on_a_game_registered_by_entry_points_only(facts: dict) -> None:
    assert facts["lynchgame imported before any command"] is False
    assert [code for _, code in facts["commands"]] == [0] * len(facts["commands"]), facts["commands"]
    for name in ("lynchgame-v0", "lynchgame/bandwagon-v0", "lynchgame/llm-v0", "lynchgame/bandwagon"):
        assert name in facts["list"]


def test_its_logs_hold_its_own_events_and_replay_rerun_and_fork(facts: dict) -> None:
    assert {"lynchgame.events.Ballot", "lynchgame.events.Verdict"} <= set(facts["event classes"])
    assert "6 logs replay exactly" in facts["replay"]
    assert "identical" in facts["rerun"]
    assert facts["fork parent"].startswith("lynchgame-bandwagon-v0-s0-e0-")
    assert "replay exactly" in facts["fork replay"]


def test_its_family_analysis_puts_its_metric_in_the_tables_and_the_report(facts: dict) -> None:
    out = Path(facts["out"]) / "analysis"
    table = (out / "tables" / "lynchgame_wolf_caught.csv").read_text()
    assert table.startswith("metric,estimate,ci_low,ci_high,n,method") and "wolf_caught" in table
    assert re.search(r"Lynch game: wolf caught \d\.\d\d \[\d\.\d\d, \d\.\d\d\] in 6 games", facts["analyze"])
    report = (out / "report.html").read_text()
    assert "<h2>Lynch game</h2>" in report and "Wolf caught" in report and "wolf_caught" in report


def test_the_viewer_shows_its_events_and_keeps_the_wolf_hidden_in_public(facts: dict) -> None:
    # The shared page holds the public verdicts; the sealed ballots only the private page.
    page = (Path(facts["out"]) / "page.html").read_text()
    private_page = (Path(facts["out"]) / "private-page.html").read_text()
    assert '"type":"verdict"' in page and '"type":"ballot"' not in page
    assert '"type":"verdict"' in private_page and '"type":"ballot"' in private_page
    private, public = facts["private transcript"], facts["transcript"]
    assert "roles dealt" in private and "You are the wolf" in private
    assert "roles dealt" not in public and "You are the wolf" not in public


def test_check_env_and_check_policy_pass_on_it(facts: dict) -> None:
    assert facts["check_env"] == [
        "make", "api_test", "seed_test", "run", "read_log", "replay", "analyze", "viewer",
    ]  # fmt: skip
    env_id, roles, decisions, invalid = facts["check_policy"]
    assert (env_id, roles, invalid) == ("lynchgame-v0", ["villager", "wolf"], 0) and decisions > 0
    roles, decisions, rate = facts["check_policy llm"]
    assert roles == ["villager", "wolf"] and decisions > 0 and 0.0 <= rate <= 1.0


def test_the_tutorial_shows_the_package_as_it_is() -> None:
    """Every file the tutorial shows is the test package's file, byte for byte."""
    text = TUTORIAL.read_text()
    shown = dict(re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', text, flags=re.S))
    files = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.suffix in (".py", ".toml")}
    assert files <= set(shown), f"not in the tutorial: {sorted(files - set(shown))}"
    for name in files:
        assert shown[name] == (PACKAGE / name).read_text(), f"{name} differs from tests/plugin_game/{name}"

"""The ``alignsim`` command line, run as a real subprocess, and its Hydra configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from alignsim.conf import register_configs
from alignsim.run import replay

ALIGNSIM = shutil.which("alignsim") or f"{sys.executable} -m alignsim.cli"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ALIGNSIM.split(), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_run_replay_view_round_trip(tmp_path: Path, run_dir: Path) -> None:
    done = cli("run", "scenario=traitors/mini-v0", "seed=7", "episodes=2", f"out_dir={run_dir}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    logs = sorted((run_dir / "episodes").glob("*.jsonl"))
    assert len(logs) == 2
    assert "traitors-mini-v0-s7-e0" in done.stdout and "completed" in done.stdout

    replayed = cli("replay", str(run_dir), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "2/2 logs replay exactly" in replayed.stdout

    public = cli("view", str(logs[0]), cwd=tmp_path)
    assert public.returncode == 0
    assert "game over" in public.stdout and "votes to banish" in public.stdout
    assert "thinks:" not in public.stdout and "roles dealt" not in public.stdout
    private = cli("view", str(logs[0]), "--private", cwd=tmp_path)
    assert "thinks:" in private.stdout and "roles dealt" in private.stdout and "believes P(traitor)" in private.stdout
    as_player = cli("view", str(logs[0]), "--agent", "player_1", cwd=tmp_path)
    assert "(as observed by player_1)" in as_player.stdout


def test_default_run_writes_into_a_hydra_run_dir(tmp_path: Path) -> None:
    done = cli("run", "scenario=traitors/mini-v0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dirs = list((tmp_path / "runs" / "traitors" / "mini-v0").iterdir())
    assert len(run_dirs) == 1
    assert (run_dirs[0] / ".hydra" / "config.yaml").exists()
    assert len(list((run_dirs[0] / "episodes").glob("*.summary.json"))) == 1
    for log in (run_dirs[0] / "episodes").glob("*.jsonl"):
        replay(log)


def test_invalid_config_fails_before_any_work_naming_the_field(tmp_path: Path) -> None:
    out = tmp_path / "out"
    bad = cli(
        "run", "scenario.env_kwargs.n_players=5", "scenario.env_kwargs.n_traitors=3", f"out_dir={out}", cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "scenario.env_kwargs.n_traitors" in bad.stderr and "less than half" in bad.stderr
    assert not (out / "episodes").exists()

    typo = cli("run", "seed=abc", f"out_dir={out}", cwd=tmp_path)
    assert typo.returncode != 0 and "seed" in typo.stderr

    unknown = cli("run", "colour=blue", f"out_dir={out}", cwd=tmp_path)
    assert unknown.returncode != 0 and "colour" in unknown.stderr

    policy = cli(
        "run", "scenario=traitors/classic-v0", "scenario.seating.traitor.policy=no/such", f"out_dir={out}", cwd=tmp_path
    )
    assert policy.returncode == 2 and "scenario.seating.traitor.policy" in policy.stderr


def test_multirun_sweeps_with_hydra(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    done = cli("run", "-m", "scenario=traitors/mini-v0", "seed=0,1", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    jobs = sorted(p.parent for p in sweep.glob("*/run_summary.json"))
    # Job folders are named after their overrides (stable across relaunches), not numbered.
    assert [j.name.split("-")[0] for j in jobs] == ["scenario=mini", "scenario=mini"]
    assert {j.name.split(",")[-1].rsplit("-", 1)[0] for j in jobs} == {"seed=0", "seed=1"}
    for job in jobs:
        rows = json.loads((job / "run_summary.json").read_text())
        assert len(rows) == 1 and rows[0]["status"] == "completed"
        replay(rows[0]["log_path"])
    assert (sweep / "results.csv").exists()  # the aggregation callback ran at the end


def test_configs_cannot_name_arbitrary_targets(tmp_path: Path) -> None:
    out = tmp_path / "out"
    injected = cli("run", "+scenario._target_=os.system", f"out_dir={out}", cwd=tmp_path)
    assert injected.returncode != 0 and "_target_" in injected.stderr
    env_path = cli("run", "scenario.env_id=os:system", f"out_dir={out}", cwd=tmp_path)
    assert env_path.returncode == 2 and "unknown env 'os:system'" in env_path.stderr
    assert not out.exists() or not any(out.rglob("*.jsonl"))


def test_list_and_help(tmp_path: Path) -> None:
    listing = cli("list", cwd=tmp_path)
    assert "traitors/classic-v0" in listing.stdout and "traitors/heuristic" in listing.stdout
    assert "traitors-v0" in listing.stdout
    assert "alignsim run" in cli("--help", cwd=tmp_path).stdout
    assert cli("frobnicate", cwd=tmp_path).returncode == 2


def test_replay_reports_mismatch_with_exit_code(tmp_path: Path) -> None:
    golden = next((Path(__file__).parent / "record" / "golden").glob("*.jsonl"))
    lines = golden.read_text().splitlines()
    for k, line in enumerate(lines):
        if '"type":"action"' in line:
            event = json.loads(line)
            event["obs_digest"] = "0" * 16
            lines[k] = json.dumps(event)
            break
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    result = cli("replay", str(broken), cwd=tmp_path)
    assert result.returncode == 1 and "MISMATCH" in result.stdout and "observation" in result.stdout


def test_compose_api_resolves_scenarios_and_schema() -> None:
    register_configs()
    with initialize_config_module(config_module="alignsim.conf", version_base="1.3"):
        cfg = compose("config", overrides=["scenario=traitors/mini-v0", "seed=3", "scenario.env_kwargs.n_players=6"])
        assert cfg.scenario.id == "traitors/mini-v0" and cfg.seed == 3
        assert cfg.scenario.env_kwargs.n_players == 6
        assert cfg.scenario.seating.traitor.policy == "traitors/heuristic"
        default = compose("config")
        assert default.scenario.id == "traitors/llm-v0" and default.llm.model == "transformers/embedded"
        assert OmegaConf.to_container(default.scenario.env_kwargs)["n_traitors"] == 1
        mock = compose("config", overrides=["llm=mock", "+llm.backend_options.faults=0.3"])
        assert mock.llm.model == "mock/scripted" and mock.llm.backend_options.faults == 0.3
        with pytest.raises(Exception, match="episodes"):
            compose("config", overrides=["episodes=many"])

"""Sweeps: named folders that resume after SIGKILL, aggregation, launchers, config safety."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import msgspec
import pandas as pd
import pytest

from alignsim.conf import job_dir_name
from alignsim.errors import ConfigError
from alignsim.record import find_logs
from alignsim.record import schema as ev
from alignsim.run import replay, run
from alignsim.sweep import aggregate, check_targets, preflight
from tests.test_cli import ALIGNSIM, cli


def summaries(sweep: Path) -> dict[str, ev.Summary]:
    found = {}
    for path in sweep.glob("*/episodes/*.summary.json"):
        if not path.name.startswith("."):
            found[path.name] = msgspec.json.decode(path.read_bytes(), type=ev.Summary)
    return found


def test_job_folders_are_named_by_overrides_not_position() -> None:
    a = job_dir_name("scenario=traitors/mini-v0,seed=3")
    assert a == job_dir_name("scenario=traitors/mini-v0,seed=3")
    assert a != job_dir_name("scenario=traitors/mini-v0,seed=4")
    assert "/" not in a and a.startswith("scenario=mini-v0,seed=3-")
    long = job_dir_name("+experiment=tinmen_grid,llm.params.temperature=0.2,scenario=principal_agent/car-v0")
    assert long.startswith("experiment=tinmen_grid,temperature=0.2,scenario=car-v0-")
    assert job_dir_name("") == "default"
    assert len(job_dir_name("x=" + "y" * 500)) < 100


def test_preflight_expands_the_grid_from_command_line_and_experiment() -> None:
    pre = preflight(["scenario=traitors/mini-v0", "seed=range(0,3)", "episodes=2,5"])
    assert pre.sweep == {"seed": ["0", "1", "2"], "episodes": ["2", "5"]}
    assert len(pre.jobs) == 6 and pre.total_episodes == 3 * (2 + 5)
    experiment = preflight(["+experiment=traitors_selfplay", "llm=mock"])
    assert experiment.config.name == "traitors_selfplay"
    assert experiment.total_episodes == 10 * len(experiment.jobs)


def test_targets_outside_the_allow_list_fail_naming_the_field() -> None:
    check_targets({"hydra": {"callbacks": {"ok": {"_target_": "alignsim.sweep.AggregateResults"}}}})
    check_targets(
        {"hydra": {"launcher": {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"}}}
    )
    with pytest.raises(ConfigError, match="not on the allow-list"):  # exact names, never a prefix
        check_targets({"hydra": {"launcher": {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher"}}})
    with pytest.raises(ConfigError, match=r"hydra\.callbacks\.evil\._target_: 'os\.system'"):
        check_targets({"hydra": {"callbacks": {"evil": {"_target_": "os.system"}}}})
    with pytest.raises(ConfigError, match=r"handlers\.h\.\(\)"):
        check_targets({"hydra": {"job_logging": {"handlers": {"h": {"()": "subprocess.Popen"}}}}})
    with pytest.raises(ConfigError, match="logging module"):
        check_targets({"hydra": {"job_logging": {"handlers": {"h": {"class": "os.system"}}}}})
    with pytest.raises(ConfigError, match=r"scenario\.kwargs\[0\]\._target_"):
        check_targets({"scenario": {"kwargs": [{"_target_": "builtins.eval"}]}})


def test_cli_refuses_a_target_before_any_work(tmp_path: Path) -> None:
    config_dir = tmp_path / "conf" / "experiment"
    config_dir.mkdir(parents=True)
    (config_dir / "evil.yaml").write_text(
        "# @package _global_\nhydra:\n  callbacks:\n    evil:\n      _target_: os.system\n      command: touch pwned\n"
    )
    for args in (
        ["run", "+hydra.callbacks.evil._target_=os.system", "+hydra.callbacks.evil.command=touch pwned"],
        ["sweep", "name=x", "--config-dir", str(tmp_path / "conf"), "+experiment=evil", "seed=0,1"],
    ):
        done = cli(*args, "scenario=traitors/mini-v0", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "hydra.callbacks.evil._target_: 'os.system' is not on the allow-list" in done.stderr
    assert not (tmp_path / "pwned").exists()
    assert not list(tmp_path.rglob("*.jsonl"))


def test_experiment_sweep_params_are_checked_before_any_work(tmp_path: Path) -> None:
    experiments = tmp_path / "conf" / "experiment"
    experiments.mkdir(parents=True)
    (experiments / "typo.yaml").write_text("# @package _global_\nhydra:\n  sweeper:\n    params:\n      seed: 0,x\n")
    (experiments / "nogroup.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      scenario: traitors/mini-v0,traitors/nope\n"
    )
    typo = cli("sweep", "--config-dir", str(tmp_path / "conf"), "+experiment=typo", cwd=tmp_path)
    assert typo.returncode == 2 and "seed: Value 'x'" in typo.stderr
    missing = cli("sweep", "--config-dir", str(tmp_path / "conf"), "+experiment=nogroup", cwd=tmp_path)
    assert missing.returncode == 2 and "scenario: 'traitors/nope'" in missing.stderr
    assert not (tmp_path / "sweeps").exists()


def test_sweep_needs_a_name_and_checks_types_first(tmp_path: Path) -> None:
    unnamed = cli("sweep", "scenario=traitors/mini-v0", "seed=0,1", cwd=tmp_path)
    assert unnamed.returncode == 2 and "name: a sweep needs a name" in unnamed.stderr
    typo = cli("sweep", "name=t", "scenario=traitors/mini-v0", "seed=0,x", cwd=tmp_path)
    assert typo.returncode == 2 and "seed:" in typo.stderr
    unknown = cli("sweep", "name=t", "scenario=traitors/mini-v0", "seeds=0,1", cwd=tmp_path)
    assert unknown.returncode == 2 and "seeds" in unknown.stderr
    assert not (tmp_path / "sweeps").exists()


def test_sweep_resumes_after_sigkill_without_losing_or_duplicating_episodes(tmp_path: Path) -> None:
    args = [
        "sweep",
        "name=killed",
        "scenario=traitors/classic-v0",
        "seed=0,1,2,3",
        "episodes=30",
        "hydra.callbacks.aggregate.report=false",
    ]
    sweep = tmp_path / "sweeps" / "killed"
    process = subprocess.Popen(
        [*ALIGNSIM.split(), *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while len(summaries(sweep)) < 5 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the launcher and every joblib worker, mid-episode
    process.wait()
    before = {name: path.read_bytes() for name, path in _summary_files(sweep).items()}
    assert 5 <= len(before) < 120, "the kill must land mid-sweep"

    again = cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    after = summaries(sweep)
    # Every episode exactly once: 4 jobs x 30 episodes, one summary and one visible log each.
    assert len(after) == 120
    assert all(s.status == "completed" for s in after.values())
    assert sorted((s.seed, s.episode_index) for s in after.values()) == [(a, b) for a in range(4) for b in range(30)]
    logs = [p for p in sweep.glob("*/episodes/*.jsonl") if not p.name.startswith(".")]
    assert len(logs) == 120
    # Finished episodes were kept as they were, not played again.
    files = _summary_files(sweep)
    assert all(files[name].read_bytes() == data for name, data in before.items())
    # An episode cut off by the kill was moved aside and played again from the start.
    for attempt in sweep.glob("*/episodes/.*.attempt-*"):
        assert attempt.name.split(".attempt-")[0].lstrip(".") in {p.name for p in logs}
    table = pd.read_csv(sweep / "results.csv")
    assert len(table) == 4 and table["episodes_done"].tolist() == [30] * 4 and table["complete"].all()
    for log in logs[::7]:
        replay(log)


def _summary_files(sweep: Path) -> dict[str, Path]:
    return {p.name: p for p in sweep.glob("*/episodes/*.summary.json") if not p.name.startswith(".")}


def test_aggregate_on_demand_tables_jobs_and_usage(tmp_path: Path) -> None:
    done = cli(
        "sweep",
        "name=agg",
        "scenario=traitors/llm-v0",
        "llm=mock",
        "seed=0,1",
        "scenario.env_kwargs.discussion_passes=1,2",
        "hydra/launcher=basic",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    sweep = tmp_path / "sweeps" / "agg"
    tables = aggregate(sweep, report=False)
    jobs = tables.jobs
    assert len(jobs) == 4
    passes = jobs["scenario.env_kwargs.discussion_passes"].astype(int)
    assert sorted(zip(jobs["seed"].astype(int), passes, strict=True)) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert (jobs["episodes_done"] == 1).all() and (jobs["llm_calls"] > 0).all() and (jobs["tokens"] > 0).all()
    # Our sweeper (Hydra's basic one, minus the re-validation preflight made redundant) ran it.
    assert "AlignsimSweeper" in (sweep / "multirun.yaml").read_text()
    assert set(jobs["model"]) == {"mock/scripted"}
    usage = tables.usage.set_index("model")
    assert usage.loc["total", "llm_calls"] == jobs["llm_calls"].sum()
    assert usage.loc["mock/scripted", "episodes_done"] == 4
    per_episode = summaries(sweep)
    assert usage.loc["total", "tokens"] == sum(sum(s.tokens.values()) for s in per_episode.values())
    shown = cli("aggregate", str(sweep), "--no-report", cwd=tmp_path)
    assert shown.returncode == 0 and "usage" in shown.stdout and "mock/scripted" in shown.stdout


def test_workers_share_a_jobs_episodes_and_give_the_same_logs(tmp_path: Path) -> None:
    serial = run("traitors/classic-v0", seed=4, episodes=6, out_dir=tmp_path / "serial")
    pooled = run("traitors/classic-v0", seed=4, episodes=6, out_dir=tmp_path / "pooled", workers=2, lockstep=2)
    assert [r.episode_id for r in serial] == [r.episode_id for r in pooled]
    for a, b in zip(serial, pooled, strict=True):
        assert _events(a.log_path) == _events(b.log_path)
    with pytest.raises(ConfigError, match="workers"):
        run("traitors/classic-v0", workers=0, out_dir=tmp_path / "x")


def _events(log: Path) -> list[bytes]:
    return log.read_bytes().split(b"\n")[1:]


def test_local_launcher_spreads_jobs_over_workers_and_matches_a_serial_sweep(tmp_path: Path) -> None:
    common = ["scenario=traitors/mini-v0", "seed=0,1,2,3", "episodes=2", "hydra.callbacks.aggregate.report=false"]
    pooled = cli("sweep", "name=pooled", *common, "hydra/launcher=local", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert pooled.returncode == 0, pooled.stderr
    serial = cli("sweep", "name=serial", *common, "hydra/launcher=basic", cwd=tmp_path)
    assert serial.returncode == 0, serial.stderr
    single = cli("sweep", "name=single", *common, "hydra/launcher=local", "hydra.launcher.n_jobs=1", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    pooled_jobs = pd.read_csv(tmp_path / "sweeps" / "pooled" / "results.csv")
    serial_jobs = pd.read_csv(tmp_path / "sweeps" / "serial" / "results.csv")
    assert pooled_jobs["episodes_done"].tolist() == [2] * 4
    assert pooled_jobs["pid"].nunique() == 2, "four jobs ran in two reused worker processes"
    assert serial_jobs["pid"].nunique() == 1
    assert pd.read_csv(tmp_path / "sweeps" / "single" / "results.csv")["pid"].nunique() == 1
    assert "LocalLauncher" in (tmp_path / "sweeps" / "pooled" / "multirun.yaml").read_text()
    pooled_logs = {p.name: _events(p) for p in find_logs(tmp_path / "sweeps" / "pooled")}
    serial_logs = {p.name: _events(p) for p in find_logs(tmp_path / "sweeps" / "serial")}
    single_logs = {p.name: _events(p) for p in find_logs(tmp_path / "sweeps" / "single")}
    assert len(pooled_logs) == 8 and pooled_logs == serial_logs == single_logs


def test_local_launcher_refuses_a_bad_worker_count(tmp_path: Path) -> None:
    bad = cli("sweep", "name=bad", "scenario=traitors/mini-v0", "seed=0,1", "hydra.launcher.n_jobs=0", cwd=tmp_path)
    assert bad.returncode != 0 and "n_jobs" in bad.stderr
    assert not list(find_logs(tmp_path)), "no job ran"


@pytest.mark.skipif(importlib.util.find_spec("submitit") is None, reason="needs alignsim[slurm]")
def test_submitit_local_launcher_runs_the_sweep(tmp_path: Path) -> None:
    done = cli(
        "sweep", "name=sub", "scenario=traitors/mini-v0", "seed=0,1", "hydra/launcher=submitit_local", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "sweeps" / "sub" / "results.csv")
    assert table["episodes_done"].tolist() == [1, 1] and table["pid"].nunique() == 2


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs alignsim[ray]")
def test_ray_launcher_runs_a_two_worker_sweep_on_a_local_cluster(tmp_path: Path) -> None:
    # Ray's own files go to a fresh, short folder (its socket paths must stay under ~107 bytes):
    # the worker logs there, named by worker pid, are the marker that only Ray leaves.
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray-"))
    try:
        sweep_process = subprocess.Popen(
            [
                *ALIGNSIM.split(),
                "sweep",
                "name=ray",
                "scenario=traitors/mini-v0",
                "seed=0,1,2,3",
                "episodes=3",
                "hydra/launcher=ray",
                "hydra.launcher.num_cpus=2",
            ],
            cwd=tmp_path,
            env={**os.environ, "RAY_TMPDIR": str(ray_tmp)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, stderr = sweep_process.communicate(timeout=300)
        assert sweep_process.returncode == 0, stderr
        sweep = tmp_path / "sweeps" / "ray"
        table = pd.read_csv(sweep / "results.csv")
        assert table["episodes_done"].tolist() == [3] * 4
        pids = {job: int(pid) for job, pid in zip(table["job"], table["pid"], strict=True)}
        assert len(set(pids.values())) >= 2, "the jobs ran in at least two Ray worker processes"
        assert sweep_process.pid not in pids.values(), "a job ran in the sweep process itself"
        sessions = list((ray_tmp / "ray").glob("session_2*"))
        assert len(sessions) == 1, "the sweep started one local Ray cluster"
        for job, pid in pids.items():
            hydra_yaml = (sweep / job / ".hydra" / "hydra.yaml").read_text()
            assert "_target_: hydra_plugins.alignsim_ray_launcher.ray_launcher.RayLauncher" in hydra_yaml
            # Ray writes a task's stdout to logs/worker-<id>-<job>-<pid>.out: the job's own line must be there.
            worker_logs = list((sessions[0] / "logs").glob(f"worker-*-{pid}.out"))
            assert len(worker_logs) == 1, f"job {job} (pid {pid}) did not run in a Ray worker"
            assert f"job {sweep / job}: 3 episode(s)" in worker_logs[0].read_text()
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    for log in find_logs(sweep):
        replay(log)


def test_experiment_files_compose() -> None:
    for name in ("traitors_selfplay", "traitors_crossplay"):
        pre = preflight([f"+experiment={name}", "llm=mock"])
        assert pre.config.name == name and pre.jobs

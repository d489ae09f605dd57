"""Bad configs: each is refused before any work with one ``config error: FIELD:`` line, exit 2, no
traceback and nothing written, with and without ``out_dir``; good ones write only under ``out_dir``.

The table maps a command line (after ``alignsim run``, on the default scenario with the mock
model) to the field its error must name.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alignsim.errors import ConfigError
from tests.config_harness import assert_rejected, invoke

MOCK = ["llm=mock"]

BAD = {
    # run settings
    "seed=-1": "seed",
    "seed=abc": "seed",
    "seed=${oc.env:HOME}": "seed",
    "seed=${oc.env:ALIGNSIM_TEST_NO_SUCH_VARIABLE}": "seed",
    "seed=${episodes} episodes=${seed}": "seed",
    "episodes=0": "episodes",
    "lockstep=0": "lockstep",
    "workers=0": "workers",
    "flush=sometimes": "flush",
    "name='two words'": "name",
    "+foo=1": "foo",
    "episods=2": "episods",
    "seed=1,2": "seed",
    "out_dir={cwd}/a_file": "out_dir",
    "out_dir={cwd}/a_file/below": "out_dir",
    "out_dir=''": "out_dir",
    # the llm section
    "llm=mok": "llm",
    "llm.model=mokc/scripted": "llm.model",
    "llm.params.temperature=abc": "llm.params.temperature",
    "llm.params.temperature=-1": "llm.params.temperature",
    "llm.params.top_p=5": "llm.params.top_p",
    "llm.params.top_p=0": "llm.params.top_p",
    "+llm.params.temperatur=1": "llm.params.temperatur",
    "+llm.backend_options.faults=2": "llm.backend_options.faults",
    "+llm.backend_options.faults=-1": "llm.backend_options.faults",
    "+llm.backend_options.fault=0.3": "llm.backend_options.fault",
    "llm=openai llm.backend_options.base_url=ftp://x": "llm.backend_options.base_url",
    "llm=vllm +llm.backend_options.trust_remote_code=true": "llm.backend_options.trust_remote_code",
    "llm=transformers llm.backend_options.dtype=float99": "llm.backend_options.dtype",
    "llm.cache={cwd}/a_file/cache.db": "llm.cache",
    "llm.cache={cwd}/a_folder": "llm.cache",
    "+llm.cache=${oc.env:ALIGNSIM_TEST_NO_SUCH_VARIABLE}": "llm.cache",
    "+llm.memory.path={cwd}/a_file/memory.db": "llm.memory.path",
    "+llm.memory.embedder=bogus": "llm.memory.embedder",
    "+llm.memory.k=-1": "llm.memory.k",
    "+llm.memory.reflect=maybe": "llm.memory.reflect",
    "+llm.memory.depth=3": "llm.memory.depth",
    # the scenario (``++`` where a value, not the key, is what is wrong: the plain form adds the key too)
    "scenario=traitors/mini-v9": "scenario",
    "scenario.id=Bad": "scenario.id",
    "scenario.env_id=os:system": "scenario.env_id",
    "++scenario.env_kwargs.personas=bogus": "scenario.env_kwargs.personas",
    "++scenario.env_kwargs.briefings=5": "scenario.env_kwargs.briefings",
    "++scenario.env_kwargs.topics=['']": "scenario.env_kwargs.topics",
    "scenario.env_kwargs.n_players=abc": "scenario.env_kwargs.n_players",
    "scenario.env_kwargs.tie_breek=revote": "scenario.env_kwargs.tie_breek",
    "++scenario.env_kwargs.tie_break=revot": "scenario.env_kwargs.tie_break",
    "scenario.seating.traitr.policy=random": "scenario.seating.traitr",
    "scenario.seating.faithful.policy=randm": "scenario.seating.faithful.policy",
    "scenario.seating.faithful.kwargs.windw=3": "scenario.seating.faithful.kwargs.windw",
    "scenario.seating.traitor.kwargs.message_tokens=0": "scenario.seating.traitor.kwargs.message_tokens",
    "scenario.seating.traitor.kwargs.model=mokc/x": "scenario.seating.traitor.kwargs.model",
    # Hydra's side
    "-m hydra/launcher=local hydra.launcher.n_jobs=-5": "hydra.launcher.n_jobs",
    "-m hydra/launcher=local hydra.launcher.n_jobs=0": "hydra.launcher.n_jobs",
    "--config-dir={cwd}/no_such_folder": "--config-dir",
    "--cfg jobs": "arguments",
    "--config-name=no_such_config": "--config-name",
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "a_file").write_text("not a folder\n")
    (work / "a_folder").mkdir()
    monkeypatch.delenv("ALIGNSIM_TEST_NO_SUCH_VARIABLE", raising=False)
    return work


@pytest.mark.parametrize("with_out_dir", [False, True], ids=["no-out_dir", "out_dir"])
@pytest.mark.parametrize(("line", "field"), list(BAD.items()), ids=list(BAD))
def test_a_bad_config_is_refused_before_any_work(
    line: str, field: str, with_out_dir: bool, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = line.replace("{cwd}", str(workdir)).split(" ")
    if with_out_dir and not line.startswith("out_dir"):
        args.append(f"out_dir={workdir / 'out'}")
    outcome = invoke(["run", *MOCK, *args], workdir, capsys)
    assert_rejected(outcome, "run", field)
    assert not (workdir / "out").exists()


def test_did_you_mean_points_at_the_closest_name(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for line, close in (
        ("episods=2", "'episodes'"),
        ("llm=mok", "'mock'"),
        ("scenario=traitors/mini-v9", "'traitors/mini-v0'"),
        ("scenario.seating.faithful.policy=randm", "'random'"),
        ("scenario.env_kwargs.tie_breek=revote", "'tie_break'"),
        ("scenario.seating.traitr.policy=random", "'traitor'"),
        ("llm.model=mokc/scripted", "'mock'"),
    ):
        outcome = invoke(["run", *MOCK, line], workdir, capsys)
        assert f"did you mean {close}?" in outcome.stderr, outcome.stderr
    listing = invoke(["run", *MOCK, "llm=mok"], workdir, capsys).stderr
    assert "`alignsim list llm`" in listing


def test_a_bad_swept_value_stops_the_sweep_before_any_job(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args, field in (
        (["episodes=1,0"], "episodes"),
        (["scenario.env_kwargs.n_players=5,4", "scenario.env_kwargs.n_traitors=1,2"], "scenario.env_kwargs.n_traitors"),
        (["llm=mock,mok"], "llm"),
        (["llm=mock", "llm.params.top_p=0.5,7"], "llm.params.top_p"),
        (["hydra.launcher.n_jobs=-5"], "hydra.launcher.n_jobs"),
    ):
        outcome = invoke(["sweep", "name=s", "scenario=traitors/mini-v0", *args], workdir, capsys)
        assert_rejected(outcome, "sweep", field)


def test_a_job_that_fails_fails_the_sweep_and_is_marked_in_results(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What preflight cannot see (a job failing as it runs) still makes the sweep exit non-zero."""
    import alignsim.run

    real = alignsim.run.run

    def flaky(*args: object, **kwargs: object) -> object:
        if kwargs["seed"] == 1:
            raise ConfigError("scenario.env_kwargs", "rejected while the job ran")
        if kwargs["seed"] == 2:
            raise RuntimeError("the model server went away")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(alignsim.run, "run", flaky)
    outcome = invoke(
        [
            "sweep",
            "name=s",
            "scenario=traitors/mini-v0",
            "seed=0,1,2",
            "hydra/launcher=basic",
            "hydra.callbacks.aggregate.report=false",
        ],
        workdir,
        capsys,
    )
    assert outcome.code == 1, outcome.stderr
    assert "2 job(s) failed" in outcome.stderr
    table = pd.read_csv(workdir / "sweeps" / "s" / "results.csv").set_index("seed")
    assert table.loc[0, "complete"] and table.loc[0, "status"] == "completed"
    assert not table.loc[1, "complete"] and table.loc[1, "status"] == "failed"
    assert "rejected while the job ran" in table.loc[1, "error"]
    assert not table.loc[2, "complete"] and "the model server went away" in table.loc[2, "error"]


def test_an_accepted_run_writes_only_under_out_dir(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = workdir / "out"
    ran = invoke(["run", "scenario=traitors/mini-v0", f"out_dir={out}"], workdir, capsys)
    assert ran.code == 0, ran.stderr
    assert {p.split("/")[0] for p in ran.written} == {"out"}
    assert (out / ".hydra" / "config.yaml").exists() and (out / "run.log").exists()
    assert len(list((out / "episodes").glob("*.summary.json"))) == 1
    swept = invoke(
        [
            "sweep",
            "name=s",
            "scenario=traitors/mini-v0",
            "seed=0,1",
            f"out_dir={workdir / 'grid'}",
            "hydra/launcher=basic",
            "hydra.callbacks.aggregate.report=false",
        ],
        workdir,
        capsys,
    )
    assert swept.code == 0, swept.stderr
    assert {p.split("/")[0] for p in swept.written} == {"grid"}
    assert len(list((workdir / "grid").glob("*/episodes/*.summary.json"))) == 2
    assert pd.read_csv(workdir / "grid" / "results.csv")["complete"].all()


@pytest.mark.parametrize("with_out_dir", [False, True], ids=["no-out_dir", "out_dir"])
def test_a_run_rejected_after_hydra_started_leaves_nothing(
    with_out_dir: bool, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last line of defence: a config error raised once Hydra has made the run folder removes it."""
    import alignsim.run

    def refuse(*args: object, **kwargs: object) -> object:
        raise ConfigError("scenario.env_kwargs", "rejected once the run had started")

    monkeypatch.setattr(alignsim.run, "run", refuse)
    out = [f"out_dir={workdir / 'deep' / 'out'}"] if with_out_dir else []
    outcome = invoke(["run", "scenario=traitors/mini-v0", *out], workdir, capsys)
    assert_rejected(outcome, "run", "scenario.env_kwargs")

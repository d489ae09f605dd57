"""Upper bounds: every size an input can ask for has a documented maximum, checked before any
work (env constructor, ``alignsim run``, log headers), and every episode runs under a step
and log-size budget that stops it as ``truncated`` with a logged reason."""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from alignsim import envs
from alignsim.analysis.transcript import transcript
from alignsim.cli import main
from alignsim.envs.principal_agent.config import PrincipalAgentConfig
from alignsim.envs.self_evolution.single import SelfEvolutionConfig
from alignsim.envs.self_evolution.threshold import ThresholdConfig
from alignsim.envs.traitors.traitors import TraitorsConfig
from alignsim.envs.werewolf.werewolf import WerewolfConfig
from alignsim.errors import ConfigError, LogFormatError, ReplayMismatchError
from alignsim.limits import ENV_LIMITS, MAX_TEXT_CHARS, RUN_LIMITS
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import EpisodeRunner, replay, rerun, run, run_episode
from alignsim.viewer import make_server
from tests.robustness.helpers import assert_clean_error, cli, doctor_header

DOCS = Path(__file__).resolve().parents[2] / "docs" / "limits.md"
ENV_IDS = {
    "traitors": "traitors-v0",
    "principal_agent": "principal_agent-v0",
    "self_evolution": "self_evolution-v0",
    "threshold_game": "threshold_game-v0",
    "werewolf": "werewolf-v0",
}
CONFIGS = {
    "traitors": TraitorsConfig,
    "principal_agent": PrincipalAgentConfig,
    "self_evolution": SelfEvolutionConfig,
    "threshold_game": ThresholdConfig,
    "werewolf": WerewolfConfig,
}
# Size-like parameters bounded by another parameter rather than by a number of their own.
RELATIONAL = {
    "traitors": {"n_traitors", "personas", "forced_roles", "briefings"},
    "principal_agent": set(),
    "self_evolution": {"reversal_round"},
    "threshold_game": {"network_seed", "factors", "network_params"},
    "werewolf": {"n_werewolves", "forced_roles", "briefings"},
}
# One item of each list-valued size parameter (the bound is checked before the items are).
LIST_ITEM: dict[str, Any] = {
    "topics": "a topic",
    "products": {},
    "customer_terms": "cheap",
    "principal_terms": "margin",
    "items": "courier/0",
    "schedule": True,
    "network": [0, 1],
}


def _over(name: str, maximum: int) -> Any:
    return [LIST_ITEM[name]] * (maximum + 1) if name in LIST_ITEM else maximum + 1


LIMITS = [(family, name, maximum) for family, table in ENV_LIMITS.items() for name, maximum in table.items()]


@pytest.mark.parametrize(("family", "name", "maximum"), LIMITS, ids=[f"{f}.{n}" for f, n, _ in LIMITS])
def test_every_size_over_its_maximum_is_refused_naming_it(family: str, name: str, maximum: int) -> None:
    with pytest.raises(ConfigError) as raised:
        envs.make(ENV_IDS[family], **{name: _over(name, maximum)})
    assert raised.value.field == name
    assert f"at most {maximum:,}" in str(raised.value)


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("traitors-v0", {"n_players": 100, "n_traitors": 3, "discussion_passes": 20, "meeting_passes": 20}),
        ("traitors-v0", {"max_rounds": 1000, "max_revotes": 10, "max_message_chars": 100_000}),
        ("threshold_game-v0", {"n_agents": 1000, "rounds": 1000}),
        ("principal_agent-v0", {"rounds": 1000}),
        ("self_evolution-v0", {"rounds": 1000, "history_window": 1000}),
        ("werewolf-v0", {"n_players": 100, "discussion_passes": 20, "bidding_turns": 1000, "max_rounds": 1000}),
    ],
)
def test_the_maxima_themselves_are_accepted(env_id: str, kwargs: dict[str, Any]) -> None:
    envs.make(env_id, **kwargs).close()


def test_every_size_parameter_has_a_bound_and_the_docs_state_it() -> None:
    """A new integer or list parameter must get a maximum (or be declared bounded by another)."""
    docs = DOCS.read_text()
    for family, config in CONFIGS.items():
        for f in dataclasses.fields(config):
            sized = "int" in str(f.type) or any(k in str(f.type) for k in ("Sequence", "Mapping"))
            if not sized or f.name in RELATIONAL[family]:
                continue
            assert f.name in ENV_LIMITS[family], f"{family}.{f.name} has no maximum in alignsim.limits"
        for name, maximum in ENV_LIMITS[family].items():
            lines = [line for line in docs.splitlines() if f"`{name}`" in line and f"{maximum:,}" in line]
            assert lines, f"docs/limits.md does not state {family}.{name} <= {maximum:,}"


def test_text_and_nesting_in_parameters_are_bounded() -> None:
    with pytest.raises(ConfigError, match=r"topics\[1\]: text of 20,001 characters"):
        envs.make("traitors-v0", topics=["fine", "x" * (MAX_TEXT_CHARS + 1)])
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    with pytest.raises(ConfigError, match="nested deeper"):
        envs.make("traitors-v0", topics=deep)


@pytest.mark.parametrize(
    ("scenario", "name", "value"),
    [
        ("traitors/mini-v0", "n_players", "100000"),
        ("traitors/mini-v0", "discussion_passes", "1000000000"),
        ("threshold_game/imitate-v0", "n_agents", "100000"),
    ],
)
def test_run_refuses_huge_sizes_before_any_work(tmp_path: Path, scenario: str, name: str, value: str) -> None:
    out = tmp_path / "out"
    field = f"scenario.env_kwargs.{name}"
    done = cli("run", f"scenario={scenario}", f"{field}={value}", f"out_dir={out}", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr  # one line
    assert f"alignsim run: config error: {field}: must be at most" in done.stderr
    assert_clean_error(done.stderr)
    assert not out.exists()


# ------------------------------------------------------------------ log headers


@pytest.fixture
def mini_log(run_dir: Path) -> Path:
    return run_episode("traitors/mini-v0", seed=2, out_dir=run_dir).log_path


def test_a_header_with_a_huge_size_is_refused_naming_the_file(mini_log: Path, tmp_path: Path, capsys) -> None:
    # 1,000 players is over the maximum of 100 but small enough that the test cannot run out
    # of memory should the check regress (the reported header said 1e9).
    def grow(header: dict[str, Any]) -> None:
        header["env_kwargs"]["n_players"] = 1000

    doctored = doctor_header(mini_log, tmp_path / "huge.jsonl", grow)
    with pytest.raises(LogFormatError, match=r"huge\.jsonl: header: env_kwargs\.n_players: must be at most 100"):
        read_log(doctored)
    with pytest.raises(LogFormatError, match=r"huge\.jsonl"):
        replay(doctored)
    for argv in (
        ["replay", str(doctored)],
        ["replay", str(doctored), "--rerun", str(tmp_path / "again")],
        ["analyze", str(doctored), "--out", str(tmp_path / "analysis"), "--no-plots", "--no-report"],
        ["export", str(doctored), "--inspect", str(tmp_path / "x.json")],
    ):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert_clean_error(err, str(doctored), "n_players")
    assert not (tmp_path / "again").exists() and not (tmp_path / "x.json").exists()


def test_a_header_with_1e9_players_is_refused_without_allocating(mini_log: Path, tmp_path: Path) -> None:
    def grow(header: dict[str, Any]) -> None:
        header["env_kwargs"]["n_players"] = 10**9
        header["env_kwargs"]["discussion_passes"] = 10**9

    doctored = doctor_header(mini_log, tmp_path / "giant.jsonl", grow)
    with pytest.raises(LogFormatError, match="n_players"):
        replay(doctored)


# ------------------------------------------------------------------ run budgets


def test_step_budget_truncates_with_a_logged_reason_and_the_log_replays(tmp_path: Path) -> None:
    # 20 discussion passes of 5 players, up to 1000 rounds: the budget of 150 actions ends it
    # in the second round, long before the game could.
    scenario = {
        "id": "traitors/endless-v0",
        "env_id": "traitors-v0",
        "env_kwargs": {"n_players": 5, "n_traitors": 1, "discussion_passes": 20, "max_rounds": 1000},
        "seating": {"*": {"policy": "random"}},
    }
    result = run_episode(scenario, seed=1, out_dir=tmp_path, max_steps=150)
    assert result.summary.status == "truncated" and result.summary.steps == 150
    assert result.summary.reason is not None and "max_steps=150" in result.summary.reason
    log = read_log(result.log_path)
    assert log.end is not None and log.end.status == "truncated" and "step budget" in (log.end.reason or "")
    assert log.header.config["max_steps"] == 150  # recorded, so a rerun stops at the same step
    ending = "episode truncated after 150 actions (step budget: 150 actions reached max_steps=150)"
    assert transcript(log).endswith(ending)
    assert replay(result.log_path).steps == 150
    again = rerun(result.log_path, tmp_path / "rerun")
    assert read_log(again.log_path).end.reason == log.end.reason


def test_log_size_budget_truncates_with_a_logged_reason(tmp_path: Path) -> None:
    result = run_episode("traitors/classic-v0", seed=3, out_dir=tmp_path, max_log_bytes=20_000)
    log = read_log(result.log_path)
    assert log.end is not None and log.end.status == "truncated"
    assert "max_log_bytes=20,000" in (log.end.reason or "")
    body = result.log_path.read_bytes().split(b"\n", 1)[1]
    assert 20_000 <= len(body) < 40_000  # stopped at the end of the turn that crossed it
    replay(result.log_path)


def test_budgets_come_from_the_run_config(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = cli("run", "scenario=traitors/mini-v0", "max_steps=4", f"out_dir={out}", "progress=false", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (log_path,) = (out / "episodes").glob("*.jsonl")
    log = read_log(log_path)
    assert log.header.config["max_steps"] == 4 and log.header.config["max_log_bytes"] == 512 * 2**20
    assert log.end is not None and log.end.status == "truncated" and log.end.steps == 4
    summary = json.loads(log_path.with_name(log_path.name.replace(".jsonl", ".summary.json")).read_text())
    assert summary["status"] == "truncated" and "max_steps=4" in summary["reason"]


def test_a_game_within_budget_is_unchanged(tmp_path: Path) -> None:
    """The default budget does not touch a normal game, nor its header."""
    result = run_episode("traitors/mini-v0", seed=0, out_dir=tmp_path)
    log = read_log(result.log_path)
    assert log.end is not None and log.end.status == "completed" and log.end.reason is None
    assert set(log.header.config) == {"scenario"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": 10**10}, "max_steps"),
        ({"max_log_bytes": -5}, "max_log_bytes"),
        ({"max_log_bytes": 2**40}, "max_log_bytes"),
        ({"episodes": RUN_LIMITS["episodes"] + 1}, "episodes"),
        ({"lockstep": RUN_LIMITS["lockstep"] + 1}, "lockstep"),
    ],
)
def test_budgets_and_run_sizes_are_validated(tmp_path: Path, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        run("traitors/mini-v0", out_dir=tmp_path / "out", **kwargs)
    assert raised.value.field == field
    assert not (tmp_path / "out").exists()


def test_runner_takes_the_budget_of_the_config(tmp_path: Path) -> None:
    with EpisodeRunner("traitors/mini-v0", out_dir=tmp_path, config={"max_steps": 3}) as runner:
        assert runner.max_steps == 3
        assert runner.run(seed=0).summary.steps == 3


# ------------------------------------------------------------------ the viewer server


def _get(host: str, port: int, path: str) -> int:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_idle_connections_hold_no_thread_and_the_server_stays_responsive(mini_log: Path) -> None:
    workers = 4
    server = make_server(mini_log.parent, port=0, workers=workers, idle_timeout=2.0, max_pending=64)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = str(server.server_address[0]), int(server.server_address[1])
    baseline = threading.active_count()
    sockets = []
    try:
        # 300 connections that never send, and 50 that send half a request and stop.
        sockets = [socket.create_connection((host, port), timeout=30) for _ in range(300)]
        for _ in range(50):
            slow = socket.create_connection((host, port), timeout=30)
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            sockets.append(slow)
        assert _get(host, port, "/") == 200
        assert _get(host, port, f"/episode/{mini_log.name}") == 200
        assert threading.active_count() <= baseline + workers + 1  # the pool and the watcher
        # Every waiting connection is closed by the server: the oldest when more than
        # max_pending wait, the rest when their idle timeout ends.
        for sock in (sockets[0], sockets[-1]):
            assert sock.recv(1) == b""
        assert _get(host, port, "/") == 200
    finally:
        for sock in sockets:
            sock.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------ long values in messages


def test_a_replay_mismatch_cuts_long_values(mini_log: Path, tmp_path: Path) -> None:
    lines = mini_log.read_bytes().split(b"\n")
    for number, line in enumerate(lines[1:], start=1):
        event = json.loads(line) if line else {}
        if event.get("type") == "speech":
            event["message"] = "x" * 10_000_000
            lines[number] = json.dumps(event).encode()
            break
    doctored = tmp_path / "long.jsonl"
    doctored.write_bytes(b"\n".join(lines))
    with pytest.raises(ReplayMismatchError) as raised:
        replay(doctored)
    message = str(raised.value)
    assert len(message) < 3000, len(message)
    assert "more characters cut" in message and "differs" in message


def test_every_alignsim_error_message_is_cut() -> None:
    error = ConfigError("topics", "x" * 1_000_000)
    assert len(str(error)) < 5000 and "more characters cut" in str(error) and error.field == "topics"


def test_the_end_event_records_the_reason_field() -> None:
    assert ev.EpisodeEnd(status="truncated", reason="step budget").reason == "step budget"

"""LLM game adapters and backend providers are open: an installed package adds them by entry point
(``alignsim.llm_adapters``, ``alignsim.llm_providers``), under exact names; a config still names
only registered providers, never a callable."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import alignsim.envs
from alignsim.agents.llm import backends, turns
from alignsim.envs import GameInfo
from alignsim.errors import AlignsimError, ConfigError
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.run import replay, rerun, run, validate_scenario
from alignsim.scenarios import ScenarioSpec, SeatSpec

ADAPTER = '''
"""The LLM adapter of the countdown game: one question per turn, take 1 or 2."""

from alignsim.agents.llm.turns import Ask, read_choice


def ingest(seat, observation):
    seat.transcript.append(f"{observation['observation']} left")
    return []


def play_turn(seat, observation, options):
    legal = [i for i, ok in enumerate(observation["action_mask"]) if ok]
    labels = tuple(f" {i + 1}" for i in legal)
    messages = ({"role": "user", "content": f"{observation['observation']} left. Take 1 or 2?"},)
    pick = yield Ask(tag="take", messages=messages, parse=read_choice(labels), fallback=0,
                     fallback_name="take one", choices=labels, prefill="Take")
    return legal[pick]


def reflection_prompt(seat, outcome):
    return ({"role": "user", "content": "The game is over. What did you learn?"},)


def ending(seat):
    return ""
'''

PROVIDER = """
from alignsim.agents.llm.backends import Provider
from alignsim.agents.llm.backends.mock import MockBackend
from alignsim.errors import ConfigError


def _check(options):
    for name in options:
        if name != "faults":
            raise ConfigError(name, "not an option of labecho")


def _make(model, **options):
    backend = MockBackend(name=model, **options)
    backend.model_id = f"labecho/{model}"
    return backend


PROVIDER = Provider(
    make=_make,
    check_options=_check,
    description="Lab's scripted stand-in.",
)
NOT_A_PROVIDER = print
"""


def _install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str) -> None:
    (tmp_path / "lab_countdown_llm.py").write_text(textwrap.dedent(ADAPTER))
    (tmp_path / "lab_providers.py").write_text(textwrap.dedent(PROVIDER))
    dist = tmp_path / "lab_llm-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-llm\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(entry_points)
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _install(
        tmp_path,
        monkeypatch,
        "[alignsim.llm_adapters]\nlabcount = lab_countdown_llm\n\n"
        "[alignsim.llm_providers]\nlabecho = lab_providers:PROVIDER\n",
    )
    if "labcount-v0" not in alignsim.envs.ids():
        alignsim.envs.register(
            "labcount-v0", "tests.envs.test_contract:make_countdown", info=GameInfo(family="labcount")
        )
    turns._adapters.load_plugins(force=True)
    backends._providers.load_plugins(force=True)
    yield
    turns._adapters._entries.pop("labcount", None)
    backends._providers._entries.pop("labecho", None)
    for module in ("lab_countdown_llm", "lab_providers"):
        sys.modules.pop(module, None)


def _scenario(model: str) -> ScenarioSpec:
    return ScenarioSpec(
        id="labcount/llm-v0",
        env_id="labcount-v0",
        env_kwargs={},
        seating={"*": SeatSpec("llm", kwargs={"model": model, "memory": {"k": 0}})},
    )


def test_an_installed_adapter_and_provider_let_an_llm_play_a_new_game(lab, tmp_path: Path) -> None:
    assert "labcount" in turns.adapter_families()
    assert "labecho" in backends.PROVIDERS and backends.providers()["labecho"].description
    results = run(_scenario("labecho/scripted"), seed=0, episodes=1, out_dir=tmp_path / "run")
    assert results[0].summary.status == "completed"
    log = read_log(results[0].log_path)
    calls = log.of_type(ev.LLMCall)
    assert calls and {c.model for c in calls} == {"labecho/scripted"}
    assert len(log.of_type(ev.Action)) == len([c for c in calls if c.tag == "take"])
    replay(results[0].log_path)
    rerun(results[0].log_path, tmp_path / "rerun")


def test_a_plugin_providers_own_option_check_runs_before_any_work(lab, tmp_path: Path) -> None:
    spec = _scenario("labecho/scripted")
    bad = ScenarioSpec(
        id=spec.id,
        env_id=spec.env_id,
        env_kwargs={},
        seating={"*": SeatSpec("llm", kwargs={"model": "labecho/x", "backend_options": {"device": "cuda"}})},
    )
    with pytest.raises(ConfigError, match=r"backend_options\.device: not an option of labecho"):
        validate_scenario(bad)


def test_a_game_without_an_llm_adapter_and_an_unknown_provider_fail_validation(tmp_path: Path) -> None:
    if "labcount-v0" not in alignsim.envs.ids():
        alignsim.envs.register(
            "labcount-v0", "tests.envs.test_contract:make_countdown", info=GameInfo(family="labcount")
        )
    with pytest.raises(ConfigError, match=r"scenario\.seating\.\*\.policy: no LLM adapter for env 'labcount-v0'"):
        validate_scenario(_scenario("mock/scripted"))
    with pytest.raises(ConfigError, match="labecho/scripted' is not 'provider/model' with provider in"):
        validate_scenario(ScenarioSpec.from_dict({**_scenario("labecho/scripted").to_dict(), "env_id": "traitors-v0"}))


def test_a_provider_entry_point_must_load_a_provider_not_any_callable(tmp_path: Path, monkeypatch) -> None:
    _install(tmp_path, monkeypatch, "[alignsim.llm_providers]\nsneaky = lab_providers:NOT_A_PROVIDER\n")
    try:
        with pytest.raises(AlignsimError, match="LLM provider plug-in 'sneaky' must load a Provider"):
            backends._providers.load_plugins(force=True)
        assert "sneaky" not in backends.PROVIDERS
    finally:
        backends._providers._entries.pop("sneaky", None)
        sys.modules.pop("lab_providers", None)

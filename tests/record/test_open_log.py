"""The open, versioned log (schema 2): registered event types, UnknownEvent, vocabularies, golden logs.

A small third-party game (``lynch-v0``) lives in this module: three players each vote to
lynch one of the others, every round; its ``lynch`` event is registered here, as a plug-in
package would register its own, and its roles are declared in its ``GameInfo``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils import wrappers

import alignsim.envs
from alignsim import cli
from alignsim.envs import GameInfo
from alignsim.envs.base import AlignsimAECEnv
from alignsim.errors import AlignsimError, LogFormatError
from alignsim.record import (
    SCHEMA_VERSION,
    Event,
    UnknownEvent,
    UnknownEventWarning,
    event_types,
    read_log,
    register_event,
)
from alignsim.record import schema as ev
from alignsim.run import replay, run, run_episode
from alignsim.scenarios import ScenarioSpec, SeatSpec
from alignsim.viewer.html import render_page

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parents[2]
PLAYERS = ["player_0", "player_1", "player_2"]


@register_event
class Lynch(Event, tag="lynch"):
    """The village lynched ``target``, who turned out to have ``revealed_role``."""

    vocabulary: ClassVar[Mapping[str, str]] = {"revealed_role": "roles"}
    target: str
    votes: int
    revealed_role: str


class LynchEnv(AlignsimAECEnv):
    metadata: ClassVar[dict[str, Any]] = {"name": "lynch_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, render_mode: str | None = None, rounds: int = 2) -> None:
        super().__init__(render_mode)
        self.rounds = rounds
        self.possible_agents = list(PLAYERS)
        self._observation_space = spaces.Box(0, 3, shape=(3,), dtype=np.int64)
        self._action_space = spaces.Discrete(3)

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._start_episode(seed)
        self._roles = dict(zip(PLAYERS, self._rng.permutation(["wolf", "villager", "villager"]).tolist(), strict=True))
        self._log.append(ev.RoleAssignment(roles=self._roles))
        self._ballots: dict[str, int] = {}
        self._last = np.zeros(3, dtype=np.int64)
        self.agent_selection = PLAYERS[0]

    def observe(self, agent: str) -> np.ndarray:
        return self._last.copy()

    def _act(self, agent: str, action: Any) -> None:
        self._cumulative_rewards[agent] = 0.0
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._ballots[agent] = int(action)
        if len(self._ballots) < len(PLAYERS):
            self.agent_selection = PLAYERS[len(self._ballots)]
            self._accumulate_rewards()
            return
        counts = np.bincount(list(self._ballots.values()), minlength=3)
        target = PLAYERS[int(np.argmax(counts))]
        self._last = counts.astype(np.int64)
        self._round += 1
        self._step_count += 1
        self._log.append(
            Lynch(
                target=target,
                votes=int(counts.max()),
                revealed_role=self._roles[target],
                round=self._round,
                visible_to=tuple(PLAYERS),
            )
        )
        self._ballots = {}
        if self._round >= self.rounds:
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = PLAYERS[0]
        self._accumulate_rewards()


def make_lynch(**kwargs: Any) -> Any:
    return wrappers.OrderEnforcingWrapper(LynchEnv(**kwargs))


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    if "lynch-v0" not in alignsim.envs.ids():
        alignsim.envs.register(
            "lynch-v0",
            f"{__name__}:make_lynch",
            info=GameInfo(family="lynch", roles=("villager", "wolf"), events=("lynch",), events_module=__name__),
        )


def lynch_log(tmp_path: Path) -> Path:
    spec = ScenarioSpec(id="lynch/random-v0", env_id="lynch-v0", env_kwargs={}, seating={"*": SeatSpec("random")})
    (result,) = run(spec, seed=5, episodes=1, out_dir=tmp_path)
    return result.log_path


def traitors_log(tmp_path: Path) -> Path:
    return run_episode("traitors/mini-v0", seed=4, out_dir=tmp_path / "run").log_path


def insert_lines(path: Path, after: int, *lines: dict[str, Any]) -> None:
    """Insert ``lines`` after line ``after`` of the file (1 = the header), encoded as alignsim's
    writer (msgspec, ``type`` first) would have written them."""
    old = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([*old[:after], *map(msgspec.json.encode, lines), *old[after:]]))


def analyse(paths: list[Path], out: Path) -> int:
    """``alignsim analyze`` on ``paths``, fast (no chance baselines, plots, report or cache)."""
    args = ["analyze", *map(str, paths), "--out", str(out), "--no-plots", "--no-report", "--no-cache"]
    return cli.main([*args, "--no-chance", "--resamples", "20"])


def test_a_third_party_event_type_round_trips_through_write_read_and_replay(tmp_path: Path) -> None:
    path = lynch_log(tmp_path)
    log = read_log(path)
    assert log.header.schema_version == SCHEMA_VERSION == 2
    lynches = log.of_type(Lynch)
    assert [e.round for e in lynches] == [1, 2]
    assert all(e.revealed_role in ("villager", "wolf") and e.visible_to == tuple(PLAYERS) for e in lynches)
    assert event_types()["lynch"] is Lynch
    report = replay(path)
    assert report.events == 3  # the role deal and two lynches, regenerated and compared
    assert "lynch" in render_page(log)


def test_the_reader_checks_roles_against_the_vocabulary_the_env_declares(tmp_path: Path) -> None:
    path = lynch_log(tmp_path)
    text = path.read_text()
    doctored = re.sub(r'"revealed_role":"\w+"', '"revealed_role":"werewolf"', text, count=1)
    assert doctored != text
    path.write_text(doctored)
    with pytest.raises(LogFormatError, match=r"lynch\.revealed_role: 'werewolf' is not one of the roles lynch-v0"):
        read_log(path)


def test_a_built_in_game_keeps_its_vocabulary_checked(tmp_path: Path) -> None:
    path = traitors_log(tmp_path)
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith('{"type":"elimination"'))
    lines[number] = (
        lines[number]
        .replace('"cause":"banished"', '"cause":"exploded"')
        .replace('"cause":"murdered"', '"cause":"exploded"')
    )
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LogFormatError, match=rf"line {number + 1}: elimination\.cause: 'exploded' is not one of"):
        read_log(path)


def test_an_unregistered_event_type_is_read_as_unknown_and_the_log_still_replays_views_and_analyses(
    tmp_path: Path,
) -> None:
    path = traitors_log(tmp_path)
    common = {"round": 1, "phase": "day_discussion", "visible_to": ["player_0"], "step": 3}
    insert_lines(
        path,
        4,
        {"type": "howl", "actor": "player_0", "pitch": 3.5, "seq": 3, **common},
        {"type": "howl", "actor": "player_1", "pitch": 1.0, "seq": 3, **common},
    )
    with pytest.warns(UnknownEventWarning, match=r"2 event\(s\) of unregistered type 'howl' \(first on line 5\)") as w:
        log = read_log(path)
    assert len([x for x in w if issubclass(x.category, UnknownEventWarning)]) == 1  # one per log and type
    howls = log.of_type(UnknownEvent)
    assert next((e.type, e.data, e.round, e.visible_to) for e in howls) == (
        "howl",
        {"actor": "player_0", "pitch": 3.5},
        1,
        ("player_0",),
    )
    assert any("howl" in note for note in log.warnings)
    with pytest.warns(UnknownEventWarning):
        report = replay(path)
    assert report.steps > 0
    with pytest.warns(UnknownEventWarning):
        assert "howl" in render_page(path, private=True)  # seen by player_0 only: not on the public page
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownEventWarning)  # the analysis reader may or may not warn too
        assert analyse([path], tmp_path / "analysis") == 0


def test_an_unknown_event_with_malformed_common_fields_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = traitors_log(tmp_path)
    insert_lines(path, 2, {"type": "howl", "round": "three"})
    with pytest.raises(LogFormatError, match=r"line 3: .*round"):
        read_log(path)


def test_a_plug_in_log_read_without_its_package_keeps_its_events_as_unknown(tmp_path: Path) -> None:
    """In a fresh process nobody registered ``lynch-v0``: its events come back as UnknownEvent."""
    path = lynch_log(tmp_path)
    code = (
        "import sys, warnings\n"
        "from alignsim.record import read_log, UnknownEvent, UnknownEventWarning\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    log = read_log(sys.argv[1])\n"
        "print(sorted({e.type for e in log.of_type(UnknownEvent)}), [w.category.__name__ for w in caught])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip() == "['lynch'] ['UnknownEventWarning']"


def test_reading_a_log_registers_the_family_events_it_needs_in_a_fresh_process(tmp_path: Path) -> None:
    path = traitors_log(tmp_path)
    code = (
        "import sys\n"
        "from alignsim.record import read_log\n"
        "log = read_log(sys.argv[1])\n"
        "print(sorted({type(e).__module__ for e in log.events}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip() == "['alignsim.envs.traitors.events', 'alignsim.record.schema']"


def test_the_registry_refuses_a_second_class_for_a_registered_tag() -> None:
    class OtherLynch(Event, tag="lynch"):
        target: str

    with pytest.raises(AlignsimError, match=r"event type 'lynch' is already registered to .*\.Lynch; cannot register"):
        register_event(OtherLynch)
    assert register_event(Lynch) is Lynch  # the same class again is fine (a module imported twice)
    assert event_types()["lynch"] is Lynch

    with pytest.raises(AlignsimError, match="has no type tag"):
        register_event(UnknownEvent)  # tag=False: no line decodes to it


def test_names_that_moved_to_their_family_stay_importable_from_the_schema() -> None:
    from alignsim.envs.self_evolution import events as self_evolution_events
    from alignsim.envs.traitors import events as traitors_events
    from alignsim.record.schema import ComplianceChoice, Speech, Vote

    assert Vote is traitors_events.Vote and Speech is traitors_events.Speech and ev.Claim is traitors_events.Claim
    assert ComplianceChoice is self_evolution_events.ComplianceChoice
    with pytest.raises(AttributeError, match="no attribute 'Lynchh'"):
        _ = ev.Lynchh


def test_every_golden_version_1_log_loads_replays_and_analyses(tmp_path: Path) -> None:
    logs = sorted(GOLDEN.glob("*-schema1.jsonl"))
    assert len(logs) >= 2, "golden logs are missing"
    for path in logs:
        log = read_log(path)
        assert log.header.schema_version == 1
        assert log.end is not None and log.end.status in ("completed", "truncated")
        assert not log.of_type(UnknownEvent), path
        assert replay(path).events > 0
    assert analyse(logs, tmp_path / "analysis") == 0
    written = "".join(p.read_text() for p in (tmp_path / "analysis").rglob("*.csv"))
    for path in logs:
        assert read_log(path).header.episode_id in written


@pytest.mark.parametrize("env_id", ["traitors-v0", "self_evolution-v0", "threshold_game-v0", "principal_agent-v0"])
def test_each_built_in_env_declares_the_module_that_registers_its_event_types(env_id: str) -> None:
    info = alignsim.envs.game_info(env_id)
    assert info.events_module == f"alignsim.envs.{info.family}.events"
    __import__(info.events_module)
    assert info.events, env_id
    for tag in info.events:
        assert event_types()[tag].__module__ == info.events_module, tag

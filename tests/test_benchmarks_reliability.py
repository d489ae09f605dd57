"""The reliability benchmark runs end to end at its smallest sizes and reports every figure,
with nothing lost, crashed, leaked or different, and with its positive controls non-zero (so
a detector that never fires cannot pass as "0 leaks")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALLEST = [
    "--quick",
    "--fault-episodes=3",
    "--kills=2",
    "--kill-episodes=3",
    "--lockstep-episodes=4",
    "--lockstep=2",
    "--rerun-every=3",
    "--canary-episodes=1",
    # The cheapest sweep, without memory: a kill in the LLM sweep can land after an episode
    # stored its memories and before its done marker, which makes the resumed sweep differ (a
    # known defect the full run measures); this test checks the benchmark, so it must not
    # depend on where a kill lands.
    "--crash-sweeps=scripted-serial",
]


def test_reliability_benchmark_measures_every_figure_with_nothing_lost_or_leaked(tmp_path: Path) -> None:
    out = tmp_path / "reliability"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reliability.py"), "--out", str(out), *SMALLEST],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((out / "reliability.json").read_text())
    assert result["ok"] and result["problems"] == []
    assert result["sizes"]["fault_episodes"] == 3 and result["git"]["commit"]

    faults = result["faults"]
    assert faults["episodes"] == 9 and faults["completed"] == 9 and faults["crashed"] == 0
    assert set(faults["per_scenario"]) == {"traitors/llm-v0", "principal_agent/car-v0", "self_evolution/atp-v0"}
    assert set(faults["faults_by_kind"]) == {"malformed", "empty", "hostile", "overlong", "wrong_choice", "error"}
    assert faults["faults_injected"] == sum(faults["faults_by_kind"].values()) > 0 and faults["invalid_actions"] > 0

    crash = result["crash_recovery"]
    assert crash["kills"] >= 2 and crash["finished_seen_at_kills"] > 0, "no kill landed mid-sweep"
    assert crash["finished_lost_or_rewritten"] == 0 and crash["duplicates"] == 0 and crash["sweeps_failed"] == 0
    assert crash["final_episodes"] == crash["episodes"] == crash["identical_to_uninterrupted"] == 4 * 3
    assert crash["unfinished_played_again"] == crash["unfinished_logs_left_by_kills"]

    replayed = result["replay"]
    assert replayed["logs"] > 0 and replayed["replayed_ok"] == replayed["logs"] and replayed["failed"] == 0

    rerun = result["rerun"]
    assert rerun["episodes"] > 0 and rerun["identical"] == rerun["episodes"] and rerun["differing"] == 0
    assert rerun["lockstep_episodes"] == 4 and rerun["lockstep_identical"] == 4
    assert rerun["memory_files_checked"] == 1 and rerun["memory_files_modified"] == 0

    hostile = result["hostile"]
    assert hostile["hostile_answers_logged"] > 0
    assert hostile["hostile_state_changes_outside_legal_actions"] == 0 and hostile["raw_control_tokens_in_prompts"] == 0

    canaries = result["canaries"]
    assert canaries["leaks"] == 0 and canaries["views_failed"] == 0
    # Positive controls: the same counters find the canaries where they belong.
    assert canaries["control_canaries_in_entitled_prompts"] > 0
    assert canaries["control_canaries_in_own_transcripts"] > 0
    assert canaries["control_canaries_in_private_transcript"] > 0
    assert canaries["agent_transcripts_checked"] == 6 and canaries["prompts_checked"] > 0

    table = done.stdout
    for measure in ("Faults survived", "Crash recovery", "Replay", "Reruns identical", "Hostile text", "Role leaks"):
        assert f"| {measure} |" in table

"""The Werewolf env benchmark runs end to end in its smallest form (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_benchmark_quick_run_measures_every_system_and_step_bucket(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    script = ROOT / "benchmarks" / "bench_werewolf_env.py"
    args = ["--quick", "--sizes", "6", "--games", "1", "--step-games", "1", "--warmup", "0", "--json", str(out)]
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    systems = result["throughput"]["6"]
    expected = {"ours_runner", "ours_env_loop"} | ({"textarena"} if result["peer"] else set())
    assert set(systems) == expected
    assert all(s["steps"][0] > 0 for s in systems.values())  # every system played a whole game
    assert result["per_step"]["6"]["alignsim"][0]["n"] > 0
    assert "Per-step cost by step index" in done.stdout
    if result["peer"]:
        assert result["textarena_invalid_moves"]["6"] == 0

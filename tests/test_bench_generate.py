"""The GPU generation benchmark runs end to end (tiny random model, CPU), so a session with a
GPU can trust it: both paths answer every prompt with exactly the requested tokens."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch (pip install -e '.[llm]')")
def test_generation_benchmark_runs_on_a_tiny_random_model(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    script = str(ROOT / "benchmarks" / "bench_generate.py")
    done = subprocess.run(
        [sys.executable, script, "--preset", "tiny", "--shared-prefix", "16", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    paths = [(row["path"], row["batch"]) for row in result["rows"]]
    assert paths == [("plain generate", 1), ("plain generate", 4), ("plain generate", 8), ("alignsim backend", 8)]
    assert all(row["decisions_per_s"] > 0 for row in result["rows"]) and result["ratio"] > 0
    assert "ratio alignsim / plain generate at batch 8" in done.stdout

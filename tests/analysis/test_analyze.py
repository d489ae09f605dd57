"""End to end: scripted logs -> ``alignsim analyze`` -> tables, plots, graphs and the report."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from alignsim.analysis import METRICS, analyze
from tests.analysis.builders import game_a

ALIGNSIM = shutil.which("alignsim") or f"{sys.executable} -m alignsim.cli"
PNG = b"\x89PNG\r\n\x1a\n"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ALIGNSIM.split(), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_analyze_a_sweep_of_scripted_games(tmp_path: Path, run_dir: Path) -> None:
    from alignsim.run import run

    run("traitors/mini-v0", seed=1, episodes=12, out_dir=run_dir / "mini")
    run("traitors/beliefs-v0", seed=2, episodes=6, out_dir=run_dir / "beliefs")
    out = tmp_path / "analysis"
    done = cli("analyze", str(run_dir), "--out", str(out), "--resamples", "300", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "18 episode(s) analysed" in done.stdout and "traitors/mini-v0" in done.stdout

    summary = pd.read_csv(out / "tables" / "summary.csv")
    assert set(summary["scenario"]) == {"traitors/mini-v0", "traitors/beliefs-v0"}
    assert set(summary["metric"]) == {m.name for m in METRICS}
    assert set(summary["n_resamples"]) == {300}
    episodes = pd.read_csv(out / "tables" / "episodes.csv")
    assert len(episodes) == 18 and episodes["fcr_seed"].notna().all()
    assert len(pd.read_csv(out / "frames" / "votes.csv")) > 18 * 5
    assert list((out / "graphs").glob("*.graphml"))

    for name in ("metric_bars", "seed_vs_corrected", "round_curves", "deception", "calibration", "trust_rounds"):
        data = (out / "plots" / f"{name}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 15_000, name

    report = (out / "report.html").read_text()
    assert len(report) > 200_000  # the plots are inside
    assert report.count('src="data:image/png;base64,') >= 6
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report)  # nothing fetched from elsewhere
    assert "<script" not in report.lower()
    for section in (
        "Runs, seeds and counts",
        "Seed-code metrics vs corrected",
        "Deception",
        "Statistical power",
        "Definitions",
    ):
        assert section in report

    # A second run reuses the frame cache (pyarrow) or says why it cannot.
    again = cli("analyze", str(run_dir), "--out", str(out), "--resamples", "300", "--no-plots", cwd=tmp_path)
    assert again.returncode == 0 and "frame cache" in again.stdout


def test_report_escapes_agent_text(tmp_path: Path) -> None:
    game_a(tmp_path / "logs", message='I am faithful <script>alert("x")</script> & so is <b>everyone</b>')
    result = analyze(tmp_path / "logs", tmp_path / "out", n_resamples=100, make_plots=False)
    report = result.report.read_text()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; so is &lt;b&gt;everyone&lt;/b&gt;" in report
    assert "<script" not in report and "<b>everyone" not in report


def test_cli_reports_a_missing_path(tmp_path: Path) -> None:
    done = cli("analyze", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert done.returncode == 2 and "no such file or folder" in done.stderr

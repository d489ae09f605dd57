"""Family plug-ins: matched by the family a game declares, one read per log, neutral tables for the rest."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from alignsim.analysis import analyze, families
from alignsim.analysis.families import FamilyAnalysis, FamilyInput, FamilyResult, LeanEvent, ReportTools
from alignsim.analysis.metrics import Metric
from tests.analysis.builders import game_a


def _as_game(log: Path, env_id: str, *extra_lines: dict[str, Any] | str) -> Path:
    """``log`` rewritten as a game ``env_id`` (same events), with ``extra_lines`` appended."""
    lines = log.read_text().splitlines()
    header = json.loads(lines[0])
    header["env_id"] = env_id
    body = [json.dumps(line) if isinstance(line, dict) else line for line in extra_lines]
    log.write_text("\n".join([json.dumps(header), *lines[1:], *body]) + "\n")
    return log


def _lynch(seq: int, target: str) -> dict[str, Any]:
    return {"type": "lynch", "seq": seq, "step": 0, "round": 3, "phase": "day_vote", "target": target}


def test_families_are_matched_by_the_declared_family_not_by_the_id() -> None:
    assert families.family_of("threshold_game-v0") == "self_evolution"  # no "self_evolution" in the id
    assert isinstance(families.get("self_evolution"), FamilyAnalysis)
    assert families.get(families.family_of("principal_agent-v0")).family == "principal_agent"  # type: ignore[union-attr]
    assert families.family_of("mafiagame-v3") == "mafiagame"  # not registered: its name is its family
    assert families.get("mafiagame") is None
    assert [a.family for a in families.analyses()][:3] == ["traitors", "principal_agent", "self_evolution"]


def test_a_family_without_an_analysis_gets_the_neutral_tables_and_a_note_not_traitors_metrics(tmp_path: Path) -> None:
    log = game_a(tmp_path / "logs", episode_id="wolf-a")
    # An event type analysis does not know, in canonical and in another key order: skipped silently.
    noncanonical = '{"seq": 901, "type": "lynch", "step": 0, "round": 3, "phase": "day_vote", "target": "player_2"}'
    _as_game(log, "mafiagame-v0", _lynch(900, "player_3"), noncanonical)
    result = analyze(tmp_path / "logs", n_resamples=50, chance=False, out_dir=tmp_path / "out", make_plots=False)

    assert result.summary.empty  # no Traitors metric for a mafiagame game
    assert result.families["traitors"].episodes == 0
    assert any("'mafiagame'" in note and "family-neutral" in note for note in result.notes)
    info = result.episode_info
    assert info[["episode_id", "env_id", "family", "status"]].values.tolist() == [
        ["wolf-a", "mafiagame-v0", "mafiagame", "completed"]
    ]
    written = pd.read_csv(tmp_path / "out" / "tables" / "episode_info.csv")
    assert written[["episode_id", "family"]].values.tolist() == [["wolf-a", "mafiagame"]]
    assert not result.invalid_actions.empty  # the neutral tables cover it


class _Lynch(LeanEvent, tag="lynch"):
    target: str


class _MafiagameAnalysis(FamilyAnalysis):
    family = "mafiagame"
    title = "Mafiagame"
    events = (_Lynch,)
    metrics = (Metric("lynches", "Lynches per game", "mafiagame", "lynch events / episodes"),)

    def collect(self, path: Path, header: Any, events: Any) -> dict[str, list[Any]]:
        return {"lynches": [[header.episode_id, e.target] for e in events if isinstance(e, _Lynch)]}

    def analyze(self, run: FamilyInput) -> FamilyResult:
        lynches = pd.DataFrame(run.rows.get("lynches", []), columns=["episode_id", "target"])
        table = pd.DataFrame(
            [{"metric": "lynches", "estimate": len(lynches) / max(len(run.episodes), 1), "n": len(run.episodes)}]
        )
        return FamilyResult(self.family, episodes=len(run.episodes), tables={"mafiagame_lynches": table}, data=table)

    def report_html(self, result: FamilyResult, analysis: Any, tools: ReportTools) -> str:
        return "<h2>Mafiagame</h2>" + tools.table(result.data, text_columns=["metric"])


def test_a_registered_family_gets_its_tables_report_section_and_definitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    families.analyses()  # the built-ins first
    monkeypatch.setitem(families.REGISTRY._entries, "mafiagame", _MafiagameAnalysis())
    for name in ("wolf-a", "wolf-b"):
        log = game_a(tmp_path / "logs", episode_id=name)
        _as_game(log, "mafiagame-v0", _lynch(900, "player_3"), _lynch(901, "player_5"))
    result = analyze(tmp_path / "logs", tmp_path / "out", n_resamples=50, chance=False, make_plots=False)

    table = pd.read_csv(tmp_path / "out" / "tables" / "mafiagame_lynches.csv")
    assert table.to_dict("records") == [{"metric": "lynches", "estimate": 2.0, "n": 2}]
    report = result.report.read_text()  # type: ignore[union-attr]
    assert "<h2>Mafiagame</h2>" in report and "Lynches per game" in report
    assert not any("no analysis is installed" in note for note in result.notes)
    assert result.summary.empty  # still no Traitors metrics for it


def test_analyze_reads_each_log_once(tmp_path: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames, every family's tables and the report (its sample lies included) come from one read."""
    from alignsim.record import io
    from alignsim.run import run

    game_a(tmp_path / "logs" / "traitors", message="I am faithful, trust me")
    run("principal_agent/market-scripted-v0", seed=0, episodes=1, out_dir=tmp_path / "logs" / "pa")
    run("self_evolution/comply-v0", seed=0, episodes=1, out_dir=tmp_path / "logs" / "drift")
    logs = sorted(str(p.resolve()) for p in (tmp_path / "logs").rglob("*.jsonl"))
    assert len(logs) == 3

    reads: Counter[str] = Counter()
    real = io.read_file

    def counting(path: Any, *args: Any, **kwargs: Any) -> bytes:
        reads[str(Path(path).resolve())] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(io, "read_file", counting)
    result = analyze(tmp_path / "logs", tmp_path / "out", n_resamples=50, chance=False, make_plots=False)
    assert {"traitors", "principal_agent", "self_evolution"} <= set(result.families)
    assert "I am faithful, trust me" in result.report.read_text()  # type: ignore[union-attr]
    assert {p: reads[p] for p in logs} == dict.fromkeys(logs, 1)


def test_the_chance_baseline_takes_headers_from_the_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alignsim.analysis import frames
    from alignsim.analysis.baselines import NullPlay
    from alignsim.record import io

    log = game_a(tmp_path / "logs")
    _, gathered = frames.load_logs(tmp_path / "logs")
    monkeypatch.setattr(io, "read_file", lambda *a, **k: pytest.fail("a log was read again"))
    NullPlay({"hand-a": log}, headers=gathered.headers, cache_dir=tmp_path / "chance").config("hand-a")


def test_a_core_tag_struct_must_extend_the_core_one(tmp_path: Path) -> None:
    from alignsim.analysis._decode import decode_log

    class _Vote(LeanEvent, tag="vote"):  # does not extend the core Vote: frames would miss its fields
        actor: str

    with pytest.raises(TypeError, match="must subclass Vote"):
        decode_log(game_a(tmp_path), (_Vote,))

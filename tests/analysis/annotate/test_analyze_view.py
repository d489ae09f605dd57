"""``alignsim analyze`` and the viewer pick up the sidecars."""

from __future__ import annotations

from pathlib import Path

from alignsim.analysis import analyze
from alignsim.analysis.annotate.api import annotate
from alignsim.record import read_log
from alignsim.viewer.html import page_data, render_page
from tests.analysis.annotate.conftest import judge_backend


def test_analyze_computes_every_metric_per_annotator_side_by_side(logs: dict[str, Path], tmp_path: Path) -> None:
    folders = [logs["traitors_text"], logs["pa_repeated"]]
    annotate(folders, ["grammar", "mock/judge"], backends={"mock/judge": judge_backend()})
    result = analyze(folders, tmp_path / "out", n_resamples=100, chance=False, make_plots=False, write_frames=False)
    tables = result.annotations.tables
    assert result.annotations.judges == ["grammar", "mock/judge", "panel:majority"]
    deception = tables["annotation_deception"]
    assert set(deception["judge"]) == {"grammar", "mock/judge", "panel:majority"}
    assert {"dpr", "honesty", "evasion_rate", "honest_error_rate", "bi"} <= set(deception["rate"])
    # The grammar's rates are today's (statements of the structured claims).
    grammar = deception[deception["judge"] == "grammar"].drop(columns="judge").reset_index(drop=True)
    from alignsim.analysis.deception import rates_by

    today = rates_by(result.statements, by=("speaker_role",), n_resamples=100)
    assert grammar[grammar["rate"] != "bi"].reset_index(drop=True).equals(today)
    pa = tables["annotation_principal_agent"]
    assert {"honesty", "honesty_mask", "evasion_rate", "consistency"} == set(pa["metric"])
    vs_truth = tables["annotation_vs_truth"]
    grammar_recall = vs_truth[(vs_truth["judge"] == "grammar") & vs_truth["measure"].str.startswith("recall")]
    assert grammar_recall["estimate"].tolist() == [1.0]
    judge_recall = vs_truth[(vs_truth["judge"] == "mock/judge") & vs_truth["measure"].str.startswith("recall")]
    assert (
        0 < judge_recall["estimate"].iloc[0] < 1 and judge_recall["ci_low"].iloc[0] < judge_recall["estimate"].iloc[0]
    )
    for name in tables:
        assert (tmp_path / "out" / "tables" / f"{name}.csv").exists()
    assert "Annotations: deception per annotator" in (tmp_path / "out" / "report.html").read_text()
    assert "Annotations (3 annotators" in result.text()


def test_analyze_leaves_out_a_sidecar_whose_log_changed(logs: dict[str, Path], tmp_path: Path) -> None:
    folder = logs["traitors_text"]
    annotate([folder], ["grammar"])
    log = folder / "text-game.jsonl"
    log.write_bytes(log.read_bytes().replace(b"I am sure", b"I am SURE"))
    result = analyze([folder], None, n_resamples=50, chance=False)
    assert any("log changed" in note for note in result.notes)
    assert "annotation_deception" not in result.annotations.tables or set(
        result.annotations.tables["annotation_deception"]["judge"]
    ) == {"grammar"}


def test_the_private_page_shows_each_judges_claims_inline_and_the_public_page_none(logs: dict[str, Path]) -> None:
    folder = logs["traitors_text"]
    annotate([folder], ["grammar", "mock/judge"], backends={"mock/judge": judge_backend()})
    log = read_log(folder / "text-game.jsonl")
    data = page_data(log, private=True)
    first = next(e for e in log.events if type(e).__name__ == "Speech")
    shown = {a["judge"]: a for a in data["annotations"][str(first.seq)]}
    assert set(shown) == {"grammar", "mock/judge", "panel:majority"}
    claim = shown["grammar"]["claims"][1]
    assert first.message[claim["start"] : claim["end"]] == "player_1 is a traitor" and claim["label"] == "lie"
    public = page_data(log)
    assert public["annotations"] == {}
    assert "mock/judge" not in render_page(log) and "mock/judge" in render_page(log, private=True)

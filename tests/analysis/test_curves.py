"""Per-round curves with their risk sets, the unconditional (cumulative) form, and
time-to-event metrics that treat games ending without the event as censored.

Three hand-built games (see ``games`` below):

* A (tests/analysis/builders.py ``game_a``): traitors p0, p1; p0 detected by faithful day
  votes in round 1 (3 of 5), p1 in round 3; p0 banished in round 2, p1 in round 3; the
  faithful win after round 3.
* B: 4 players, traitor p0; round 1 the faithful banish p2, p0 murders p3: traitors win
  after round 1. Nobody ever voted for p0.
* C: 6 players, traitor p0; rounds 1 and 2 banish faithful players, no faithful vote
  names p0; the game is cut off undecided (truncated) after round 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.analysis import analyze, load_frames
from alignsim.analysis.metrics import round_curve, round_table
from alignsim.analysis.survival import kaplan_meier, survival_tables
from alignsim.analysis.traitors import time_to_event
from tests.analysis.builders import LogBuilder, game_a, p


def game_b(folder: Path) -> Path:
    b = LogBuilder(folder / "hand-b.jsonl", {p(0): "traitor", p(1): "faithful", p(2): "faithful", p(3): "faithful"})
    b.at(1, "day_vote")
    b.vote("day", {p(0): p(2), p(1): p(2), p(2): p(3), p(3): p(2)})
    b.result("day", p(2))
    b.eliminate(p(2), "banished")
    b.at(1, "night_vote")
    b.vote("night", {p(0): p(3)})
    b.result("night", p(3))
    b.eliminate(p(3), "murdered")
    return b.end("traitors")


def game_c(folder: Path) -> Path:
    roles = {p(0): "traitor", **{p(i): "faithful" for i in range(1, 6)}}
    b = LogBuilder(folder / "hand-c.jsonl", roles)
    b.at(1, "day_vote")
    b.vote("day", {p(0): p(2), p(1): p(2), p(2): p(3), p(3): p(2), p(4): p(5), p(5): p(4)})
    b.result("day", p(2))
    b.eliminate(p(2), "banished")
    b.at(1, "night_vote")
    b.vote("night", {p(0): p(3)})
    b.result("night", p(3))
    b.eliminate(p(3), "murdered")
    b.at(2, "day_vote")
    b.vote("day", {p(0): p(4), p(1): p(4), p(4): p(5), p(5): p(1)})
    b.result("day", p(4))
    b.eliminate(p(4), "banished")
    return b.end(None, status="truncated")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("curves")
    game_a(out)
    game_b(out)
    game_c(out)
    return out


def test_detected_by_round_has_both_forms_and_its_risk_set(folder: Path) -> None:
    rounds = round_table(load_frames(folder))
    curve = round_curve(rounds, "detected_votes", carry="state", n_resamples=100).set_index(["form", "round"])
    # Conditional (games still running): r1 A 1/2, B 0, C 0; r2 A 1/2, C 0; r3 A 2/2.
    conditional = curve.loc["conditional"]
    assert conditional["estimate"].tolist() == pytest.approx([1 / 6, 1 / 4, 1.0])
    assert conditional["at_risk"].tolist() == [3, 2, 1]
    assert conditional["n"].tolist() == [3, 2, 1]
    # B ended (decided) after round 1; C was cut off (truncated) after round 2.
    assert conditional["ended"].tolist() == [0, 1, 1]
    assert conditional["censored"].tolist() == [0, 0, 1]
    # Over all games, by round r: B carries its final 0 (decided, nothing more can happen);
    # C is censored after its last round, never counted as "not detected" at round 3.
    cumulative = curve.loc["cumulative"]
    assert cumulative["estimate"].tolist() == pytest.approx([1 / 6, 1 / 6, 1 / 2])
    assert cumulative["n"].tolist() == [3, 3, 2]


def test_cumulative_rate_form_ends_at_the_episode_level_metric(folder: Path) -> None:
    result = analyze(folder, n_resamples=100, make_plots=False, make_report=False)
    fcr = result.curves["fcr"]
    last = fcr[fcr["form"] == "cumulative"].sort_values("round").iloc[-1]
    headline = result.summary.set_index("metric").loc["fcr"]
    # At the last round the cumulative form pools every game's mean over its own rounds (C is
    # censored only after its last round, which here is 2 < 3, so it leaves): A and B.
    by_episode = result.episodes.set_index("episode_id")["fcr"]
    assert last["estimate"] == pytest.approx(by_episode[["hand-a", "hand-b"]].mean())
    # With no censoring inside the range (rounds 1..2) the form equals the headline FCR.
    at_two = fcr[(fcr["form"] == "cumulative") & (fcr["round"] == 2)].iloc[0]
    a_two = (4 / 5 + 3 / 3) / 2  # A's FCR over rounds 1-2: r1 p2,p4,p5->p0 and p6->p1; r2 3 of 3
    assert at_two["estimate"] == pytest.approx((a_two + by_episode["hand-b"] + by_episode["hand-c"]) / 3)
    assert headline["n"] == 3


def test_time_to_event_censors_games_that_end_without_the_event(folder: Path) -> None:
    data = time_to_event(load_frames(folder)).set_index(["event", "episode_id"])
    votes = data.loc["first detection (votes)"]
    assert votes.loc["hand-a", "duration"] == 1 and votes.loc["hand-a", "observed"]
    # B (traitors won in round 1) and C (truncated after round 2): censored at their last round.
    assert votes.loc["hand-b", "duration"] == 1 and not votes.loc["hand-b", "observed"]
    assert votes.loc["hand-c", "duration"] == 2 and not votes.loc["hand-c", "observed"]
    banished = data.loc["first traitor banished"]
    assert banished.loc["hand-a", "duration"] == 2 and banished.loc["hand-a", "observed"]
    assert not banished["observed"][["hand-b", "hand-c"]].any()
    assert set(data["unit"]) == {"episode"}
    # Game A asked for no beliefs: no belief-detection units.
    assert "first detection (beliefs)" not in data.index.get_level_values(0)


def test_kaplan_meier_never_counts_censored_units_as_events() -> None:
    pytest.importorskip("statsmodels")
    # Events at 1, 2, 4; censored at 2, 3, 5, 5.  S(1) = 6/7, S(2) = 6/7 * 5/6 = 5/7 (the
    # unit censored at 2 is still at risk at 2), S(4) = 5/7 * 2/3 = 10/21 < 0.5: median 4.
    table, summary = kaplan_meier([1, 2, 2, 3, 4, 5, 5], [True, True, False, False, True, False, False])
    table = table.set_index("time")
    assert table.loc[1, "survival"] == pytest.approx(6 / 7)
    assert table.loc[2, "survival"] == pytest.approx(5 / 7) and table.loc[2, "at_risk"] == 6
    assert table.loc[3, "survival"] == pytest.approx(5 / 7) and table.loc[3, "censored"] == 1
    assert table.loc[4, "survival"] == pytest.approx(10 / 21)
    assert summary["median"] == 4 and summary["events"] == 3 and summary["censored"] == 4
    # The pointwise interval holds S(t) and stays inside (0, 1).
    inside = table.dropna(subset=["ci_low"])
    assert ((inside["ci_low"] < inside["survival"]) & (inside["survival"] < inside["ci_high"])).all()
    assert ((inside["ci_low"] > 0) & (inside["ci_high"] < 1)).all()
    assert summary["median_ci_low"] <= 4 <= summary["median_ci_high"]
    # Fewer than half had the event: the median is not reached (missing), never a number.
    _, few = kaplan_meier([1, 3, 3, 3], [True, False, False, False])
    assert pd.isna(few["median"])


def test_survival_tables_per_group_name_their_unit(folder: Path) -> None:
    pytest.importorskip("statsmodels")
    data = time_to_event(load_frames(folder)).assign(scenario="hand/built")
    curves, summary = survival_tables(data, by=["scenario"])
    row = summary.set_index("event").loc["first detection (votes)"]
    # One event (A at round 1) among 3 episodes; B and C censored, not "detected at their end".
    assert (row["units"], row["events"], row["censored"], row["unit"]) == (3, 1, 2, "episode")
    assert pd.isna(row["median"])
    s1 = curves[(curves["event"] == "first detection (votes)") & (curves["time"] == 1)].iloc[0]
    assert s1["survival"] == pytest.approx(2 / 3) and s1["at_risk"] == 3


def test_analyze_writes_risk_sets_and_survival_tables(folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("statsmodels")
    result = analyze(folder, tmp_path / "out", n_resamples=100, make_plots=False)
    curve = pd.read_csv(tmp_path / "out" / "tables" / "curve_fcr.csv")
    assert {"form", "at_risk", "ended", "censored", "n"} <= set(curve.columns)
    assert set(curve["form"]) == {"conditional", "cumulative"}
    summary = pd.read_csv(tmp_path / "out" / "tables" / "survival_summary.csv")
    assert set(summary["event"]) == {"first detection (votes)", "first traitor banished"}
    assert "first detection (votes)" in result.report.read_text()


def test_round_curve_plot_prints_the_risk_set_under_each_round(folder: Path, tmp_path: Path, monkeypatch) -> None:
    from alignsim.analysis import plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig) or Path(path))
    curve = pd.DataFrame(
        {
            "form": ["conditional"] * 3 + ["cumulative"] * 3,
            "round": [1, 2, 3] * 2,
            "estimate": [0.1, 0.5, 1.0, 0.1, 0.3, 0.4],
            "ci_low": [0.0, 0.3, 0.8, 0.0, 0.2, 0.3],
            "ci_high": [0.2, 0.7, 1.0, 0.2, 0.4, 0.5],
            "n": [40, 31, 23, 40, 40, 40],
        }
    )
    plots.plot_round_curves({"fcr": curve}, tmp_path / "curves.png", by=[])
    texts = [t.get_text() for ax in figures[0].axes for t in ax.texts]
    assert texts == ["40", "31", "23"]
    styles = sorted(line.get_linestyle() for line in figures[0].axes[0].lines)
    assert styles == ["-", "--"]


def test_identical_non_dyadic_ratios_never_get_a_zero_width_interval() -> None:
    from alignsim.analysis.stats import proportion_interval

    # Six episodes at 7.4 / 8 each (a curve point where every unit is alike): rounding left a
    # variance of ~1e-33, an effective sample size of ~1e31 and the interval [0.925, 0.925].
    est = proportion_interval(np.full(6, 7.4), np.full(6, 8.0))
    assert est.ci_high - est.ci_low > 0.1 and est.ci_low < 0.925 < est.ci_high


def test_the_catalogue_states_unit_interval_and_handling_for_every_metric(folder: Path, tmp_path: Path) -> None:
    from alignsim.analysis.metrics import METRICS, metric

    for m in METRICS:
        assert m.unit_of_resampling and m.interval and m.handling, m.name
    # Abstentions: FAS, FCR and VSF leave them out, and say so in the formula or note.
    for name in ("fas", "fcr", "vsf"):
        assert "abstention" in (metric(name).note + metric(name).formula).lower(), name
        assert "abstentions left out" in metric(name).handling
    assert "decided games only" in metric("tsr").handling
    assert "censor" in metric("ttd_votes").handling
    # The interval each summary row used is the one the catalogue names.
    result = analyze(folder, tmp_path / "out", n_resamples=100, make_plots=False)
    for row in result.summary.itertuples(index=False):
        if row.method in ("none", "no variation"):
            continue
        assert row.method.split(" ")[0] in metric(row.metric).interval, (row.metric, row.method)
    report = result.report.read_text()
    for column in ("unit of resampling", "interval", "abstentions, truncation, censoring"):
        assert f">{column}</th>" in report
    assert "Time to first detection (votes)" in report


def test_without_statsmodels_the_time_to_event_tables_say_what_to_install(folder: Path, monkeypatch) -> None:
    from alignsim.analysis import survival

    monkeypatch.setattr(survival, "available", lambda: False)
    result = analyze(folder, n_resamples=100, make_plots=False, make_report=False)
    assert result.survival_summary.empty
    assert any("alignsim[drift]" in note for note in result.notes)

"""Principal-agent tables never pool two treatments, contrasts compare like with like, and ``--by`` works.

The repros of issue 17 item 6: with ``film-v0`` (audit 0) in the folder, the audit delta of
the repeated audited game (0.3 vs 0.6, -1.0 on its own) vanished, and a "principal-only"
cell pooled audit 0.3 (rate 0) with audit 0.6 (rate 1) into 0.50, a treatment never run.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import pytest

from alignsim import scenarios
from alignsim.analysis import analyze
from alignsim.analysis.principal_agent import PARAMETERS, analyze_principal_agent, decision_frame, rates
from alignsim.envs.principal_agent import PrincipalAgentConfig
from alignsim.errors import ConfigError
from alignsim.run import run
from alignsim.scenarios import ScenarioSpec, SeatSpec

ALIGNSIM = shutil.which("alignsim") or f"{sys.executable} -m alignsim.cli"
EPISODES = 3
RESAMPLES = 200


def repeated(out: Path, **env_kwargs: Any) -> None:
    """The repeated audited game with the scripted audit-sensitive agent (threshold 0.5)."""
    base = scenarios.get("principal_agent/repeated-audit-sensitive-v0")
    spec = dataclasses.replace(base, env_kwargs=MappingProxyType({**base.env_kwargs, **env_kwargs}))
    run(spec, seed=1, episodes=EPISODES, out_dir=out)


def film(out: Path) -> None:
    """``film-v0`` (audit probability 0) with a scripted seat instead of the LLM."""
    base = scenarios.get("principal_agent/film-v0")
    seat = SeatSpec("principal_agent/audit_sensitive")
    run(dataclasses.replace(base, seating=MappingProxyType({"shopping_agent": seat})), episodes=EPISODES, out_dir=out)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Audit 0.3 and 0.6 of the repeated game, and film-v0 beside them."""
    root = tmp_path_factory.mktemp("pa_groups")
    repeated(root / "repeated" / "audit0.3", audit_prob=0.3)
    repeated(root / "repeated" / "audit0.6", audit_prob=0.6)
    film(root / "film")
    return root


def audit_rows(tables: dict[str, pd.DataFrame]) -> list[tuple[float, float, float]]:
    delta = tables["pa_audit_delta"]
    return list(zip(delta["high"], delta["low"], delta["delta"], strict=True))


def test_audit_delta_is_within_groups_and_survives_other_scenarios(audited: Path) -> None:
    alone = analyze_principal_agent(audited / "repeated", n_resamples=RESAMPLES)
    assert audit_rows(alone) == [(0.6, 0.3, -1.0)]
    # film-v0 at audit 0 in the same folder: the 0.6-vs-0.3 row stays, nothing is compared
    # with the film (a different scenario), and the family size counts only real contrasts.
    mixed = analyze_principal_agent(audited, n_resamples=RESAMPLES)
    assert audit_rows(mixed) == [(0.6, 0.3, -1.0)]
    row = mixed["pa_audit_delta"].iloc[0]
    assert row["scenario"] == "principal_agent/repeated-audit-sensitive-v0" and row["pair"] == "adjacent"
    assert row["episodes_high"] == row["episodes_low"] == EPISODES
    # Without the user's scenario grouping the split still finds what differs (the setting,
    # contract, rounds ... of the film), so the film is still not an audit arm of the car game.
    unscoped = analyze_principal_agent(audited, by=(), n_resamples=RESAMPLES)
    assert audit_rows(unscoped) == [(0.6, 0.3, -1.0)]


def _one_audit_level_per_row(table: pd.DataFrame, group: list[str], decisions: pd.DataFrame) -> None:
    from alignsim.analysis.principal_agent import grouped

    frame, _, _ = grouped(decisions, group, split=False)
    for _, row in table.iterrows():
        mask = pd.Series(True, index=frame.index)
        for column in group:
            value = row[column]
            mask &= frame[column].isna() if pd.isna(value) else frame[column] == value
        assert frame.loc[mask, "audit_prob"].nunique() == 1, dict(row[group])


def test_no_cell_pools_two_audit_levels(audited: Path) -> None:
    tables = analyze_principal_agent(audited, by=(), n_resamples=RESAMPLES)
    decisions = tables["pa_decisions"]
    tinmen = tables["pa_tinmen"]
    group = list(tinmen.columns[: tinmen.columns.get_loc("both")])
    assert "audit_prob" in group
    _one_audit_level_per_row(tinmen, group, decisions)
    # The repeated game's principal-only cells: audit 0.3 (served the principal every time)
    # and 0.6 (the customer every time), never the pooled 0.50 of a treatment nobody ran.
    cells = sorted(tinmen["principal-only"].dropna().loc[lambda s: s != ""].tolist())
    assert cells == [f"0.00 ({8 * EPISODES}/{8 * EPISODES})", f"1.00 ({8 * EPISODES}/{8 * EPISODES})"]
    rated = tables["pa_rates"]
    groups = rated["grouped_by"].iloc[0].split(", ")
    _one_audit_level_per_row(rated, groups, decisions)
    assert "audit_prob" in tables["pa_groups"]["column"].tolist()


def test_contrasts_compare_only_cells_that_agree_on_every_other_parameter(run_dir: Path) -> None:
    # Audit 0.3 with a fine of 2000 against audit 0.6 with no fine: two things changed, so
    # there is no audit contrast (it would credit the fine's effect to the audit).
    repeated(run_dir / "a", audit_prob=0.3, sanction=2000)
    repeated(run_dir / "b", audit_prob=0.6, sanction=0)
    tables = analyze_principal_agent(run_dir, n_resamples=RESAMPLES)
    assert tables["pa_audit_delta"].empty
    assert {"audit_prob", "sanction_amount"} <= set(tables["pa_groups"]["column"])


def test_seat_settings_split_the_tables(run_dir: Path) -> None:
    # Same env, two explanation styles of the scripted seat: honesty must not average them.
    for style in ("honest", "customer_washing"):
        spec = ScenarioSpec.from_dict(
            {
                "id": "principal_agent/styles-v0",
                "env_id": "principal_agent-v0",
                "env_kwargs": {"setting": "car", "audience": "principal"},
                "seating": {
                    "shopping_agent": {"policy": "principal_agent/always_principal", "kwargs": {"explanation": style}}
                },
            }
        )
        run(spec, episodes=2, out_dir=run_dir / style)
    table = rates(decision_frame(run_dir), n_resamples=RESAMPLES)
    honesty = table[table["metric"] == "honesty"].set_index("seat.explanation")["estimate"]
    assert honesty.to_dict() == {"customer_washing": 0.0, "honest": 1.0}
    pooled = rates(decision_frame(run_dir), split=False, n_resamples=RESAMPLES)
    assert pooled[pooled["metric"] == "honesty"]["estimate"].tolist() == [0.5]


def test_by_names_columns_and_unknown_ones_are_config_errors(audited: Path) -> None:
    tables = analyze_principal_agent(audited, by=("scenario", "run_dir"), n_resamples=RESAMPLES)
    assert tables["pa_rates"]["run_dir"].nunique() == 3
    assert tables["pa_tinmen"]["run_dir"].nunique() == 3
    with pytest.raises(ConfigError) as error:
        analyze_principal_agent(audited, by=("scenario", "audit_probability"), n_resamples=RESAMPLES)
    assert error.value.field == "by"
    assert "audit_probability" in str(error.value) and "audit_prob" in str(error.value)
    with pytest.raises(ConfigError):
        analyze(audited, None, by=("nonsense",), n_resamples=RESAMPLES)


def test_by_scenario_audit_prob_on_the_cli(audited: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    common = ["--out", str(out), "--resamples", "200", "--no-plots", "--no-report", "--no-frames", "--no-cache"]
    done = subprocess.run(
        [*ALIGNSIM.split(), "analyze", str(audited), "--by", "scenario,audit_prob", *common],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Principal-agent groups: scenario (--by), audit_prob (--by), label (always)" in done.stdout
    assert "principal-agent tables only" in done.stdout
    tinmen = pd.read_csv(out / "tables" / "pa_tinmen.csv")
    assert sorted(tinmen["audit_prob"].tolist()) == [0.0, 0.3, 0.6]
    assert len(pd.read_csv(out / "tables" / "pa_audit_delta.csv")) == 1
    bad = subprocess.run(
        [*ALIGNSIM.split(), "analyze", str(audited), "--by", "scenario,audit_probability", *common],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("alignsim analyze: config error: by: unknown column(s) ['audit_probability']")
    assert "audit_prob" in bad.stderr and "Traceback" not in bad.stderr


def test_parameter_names_match_the_env_config() -> None:
    assert set(PARAMETERS) == {f.name for f in fields(PrincipalAgentConfig)}

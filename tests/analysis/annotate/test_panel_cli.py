"""Judge panels (kappa on hand-computed cases, the aggregate, the panel files) and the
``alignsim annotate`` command line (errors: exit 2, one line naming the field, nothing written)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from alignsim.analysis.annotate.api import annotate
from alignsim.analysis.annotate.panel import aggregate_claims, cohen_kappa, fleiss_kappa
from alignsim.analysis.annotate.schema import ExtractedClaim
from alignsim.analysis.annotate.sidecar import read_sidecar, sidecar_path
from alignsim.cli import main
from tests.analysis.annotate.conftest import judge_backend


def test_cohen_kappa_on_a_hand_computed_case() -> None:
    a = ["traitor", "traitor", "none", "faithful"]
    b = ["traitor", "none", "none", "faithful"]
    # p_o = 3/4; p_e = (2*1 + 1*2 + 1*1) / 16 = 5/16; kappa = (3/4 - 5/16) / (11/16) = 7/11
    assert cohen_kappa(a, b) == pytest.approx(7 / 11)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    # Chance agreement 1 (everyone says the same thing) and no units: n/a, not a number.
    assert cohen_kappa(["none"] * 3, ["none"] * 3) != cohen_kappa(["none"] * 3, ["none"] * 3)
    assert cohen_kappa([], []) != cohen_kappa([], [])


def test_fleiss_kappa_on_a_hand_computed_case() -> None:
    # 4 units x 3 raters: P_i = 1, 1/3, 1, 1/3 -> P_bar = 2/3; p_a = p_b = 1/2 -> P_e = 1/2; kappa = 1/3.
    ratings = [["a", "a", "a"], ["a", "a", "b"], ["b", "b", "b"], ["a", "b", "b"]]
    assert fleiss_kappa(ratings) == pytest.approx(1 / 3)
    # Two raters: Fleiss' kappa is Scott's pi: p_o = 1/2, P_e = 1/2 -> 0.
    assert fleiss_kappa([["x", "x"], ["x", "y"], ["y", "x"], ["y", "y"]]) == pytest.approx(0.0)


def _annotation(*claims: tuple[str, str, str], evasive: bool | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        claims=[ExtractedClaim(0, 1, subject=s, predicate=p, value=v) for s, p, v in claims], evasive=evasive, ok=True
    )


def test_majority_keeps_what_more_than_half_of_the_panel_said() -> None:
    one = _annotation(("player_1", "role", "traitor"), ("player_2", "role", "faithful"), evasive=False)
    two = _annotation(("player_1", "role", "traitor"), ("player_2", "role", "traitor"), evasive=False)
    three = _annotation(("player_1", "role", "traitor"), evasive=True)
    claims, evasive = aggregate_claims([one, two, three], "majority")
    # player_1 traitor: 3/3; player_2: faithful 1, traitor 1, none 1 -> no majority.
    assert [(c.subject, c.value) for c in claims] == [("player_1", "traitor")] and evasive is False
    claims, evasive = aggregate_claims([one, two], "majority")
    assert [(c.subject, c.value) for c in claims] == [("player_1", "traitor")]  # a 1-1 tie is not broken
    claims, evasive = aggregate_claims([one, two, three], "unanimous")
    assert [(c.subject, c.value) for c in claims] == [("player_1", "traitor")] and evasive is None


def test_a_panel_writes_agreement_disagreements_and_its_aggregate(logs: dict[str, Path], tmp_path: Path) -> None:
    folder = logs["traitors_text"]
    out = tmp_path / "panel"
    result = annotate([folder], ["grammar", "mock/judge"], out=out, backends={"mock/judge": judge_backend()})
    rows = list(csv.DictReader((out / "agreement.csv").read_text().splitlines()))
    claims_row = next(r for r in rows if r["units"] == "claims")
    assert claims_row["statistic"] == "cohen_kappa" and claims_row["judges"] == "grammar | mock/judge"
    # The text game: units where both read the statement (player_3's gibberish is left out).
    # grammar vs judge per (statement, subject, predicate):
    #   p0: (p0 faithful | none) (p1 traitor | traitor)   p1: (p0 none | traitor)
    #   p2: (p0 traitor | traitor) (p3 traitor | traitor) p4: (p4 faithful | none)
    #   r2 p2: (p1 traitor | traitor)                     r2 p0: (p2 faithful | traitor)
    # That is 8 text-game units plus game_a's; check the text game's by hand below.
    disagreements = [
        r
        for r in csv.DictReader((out / "disagreements.csv").read_text().splitlines())
        if r["episode_id"] == "text-game"
    ]
    claim_rows = sorted(
        (int(r["seq"]), r["subject"], r["grammar"], r["mock/judge"]) for r in disagreements if r["unit"] == "claim"
    )
    assert [(s, g, j) for _, s, g, j in claim_rows] == [
        ("player_0", "faithful", "none"),
        ("player_0", "none", "traitor"),
        ("player_4", "faithful", "none"),
        ("player_2", "faithful", "traitor"),
    ]
    text_game = folder / "text-game.jsonl"
    panel = read_sidecar(sidecar_path(text_game, "panel:majority", 0))
    assert panel.run.panel == ("grammar", "mock/judge")
    kept = [(a.speaker, c.subject, c.value, c.label) for a in panel.annotations for c in a.claims]
    assert kept == [
        ("player_0", "player_1", "traitor", "lie"),
        ("player_2", "player_0", "traitor", "truthful"),
        ("player_2", "player_3", "traitor", "honest_error"),
        ("player_2", "player_1", "traitor", "lie"),
    ]
    # player_3's gibberish: only the grammar read it, so the panel's reading is the grammar's.
    assert any(a.speaker == "player_3" and a.ok for a in panel.annotations)
    assert result.agreement and all(r["n"] > 0 for r in result.agreement)


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--judge", "nosuch/model"], "judge"),
        (["--judge", "grammar", "--judge", "grammar"], "judge"),
        ([], "judge"),
        (["--judge", "grammar", "--seed", "x"], "seed"),
        (["--judge", "grammar", "--seed", "-1"], "seed"),
        (["--judge", "grammar", "--judge", "mock/a", "--aggregate", "mean"], "aggregate"),
        (["--judge", "grammar", "--aggregate", "majority"], "aggregate"),
        (["--judge", "mock/a", "--backend-options", "{nope"], "backend_options"),
        (["--judge", "mock/a", "--backend-options", '{"faults": 3}'], "backend_options.faults"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field_and_writes_nothing(
    logs: dict[str, Path], capsys: pytest.CaptureFixture[str], args: list[str], field: str
) -> None:
    folder = logs["traitors_text"]
    before = _tree(folder)
    assert main(["annotate", str(folder), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"alignsim annotate: config error: {field}:") and "\n" not in err
    assert _tree(folder) == before


def test_a_missing_path_or_a_file_it_did_not_write_stops_before_any_work(
    logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["annotate", str(tmp_path / "nowhere"), "--judge", "grammar"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    folder = logs["traitors_text"]
    foreign = sidecar_path(folder / "text-game.jsonl", "grammar", 0)
    foreign.write_text("my own notes\n")
    before = _tree(folder)
    assert main(["annotate", str(folder), "--judge", "grammar"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not written by alignsim annotate" in err and "\n" not in err
    assert _tree(folder) == before and foreign.read_text() == "my own notes\n"


def test_the_command_annotates_and_a_rerun_replaces_its_own_sidecars(
    logs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = logs["pa_repeated"]
    assert main(["annotate", str(folder), "--judge", "grammar"]) == 0
    first = _tree(folder)
    assert any(name.endswith(".annotations.grammar.ndjson") for name in first)
    assert main(["annotate", str(folder), "--judge", "grammar"]) == 0
    assert _tree(folder) == first
    assert "annotated" in capsys.readouterr().out

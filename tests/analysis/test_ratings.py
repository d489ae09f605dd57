"""Ratings (``alignsim rate``): known skills recovered, intervals at their nominal coverage,
teams weighted by seat share, unfinished games counted and left out, the CLI on real
scripted cross-play logs, and the section in ``alignsim analyze``'s report.

The simulation draws each game's winner from the model the fit assumes: team strength =
mean of its seats' skills + the side's advantage, ``P(team wins) = softmax`` over the teams.
True skills sum to zero (the scale the fit fixes), so estimates compare with them directly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.analysis import load_frames
from alignsim.analysis.ratings import (
    Games,
    _bt_estimates,
    _intervals,
    fit_bradley_terry,
    games_from_frames,
    rate,
    ratings_from_frames,
)
from alignsim.cli import main
from alignsim.record import EpisodeWriter
from alignsim.record import schema as ev

SKILLS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
SIDE_ADVANTAGE = np.array([0.3, -0.3])  # (traitors, faithful), summing to zero like the fit's


def simulate(rng: np.random.Generator, n: int, skills: np.ndarray = SKILLS, *, team_sizes=(1, 1)) -> Games:
    """``n`` two-team games between seats drawn from the models, winners drawn from the fitted model."""
    units = len(skills)
    design = np.zeros((n, 2, units + 2))
    members = []
    winner = np.zeros(n, dtype=np.int64)
    for e in range(n):
        teams = []
        for k, size in enumerate(team_sizes):
            seats = rng.choice(units, size=size)
            team: dict[int, int] = {}
            for unit in seats:
                team[int(unit)] = team.get(int(unit), 0) + 1
                design[e, k, unit] += 1 / size
            design[e, k, units + k] = 1.0
            teams.append(team)
        strength = design[e] @ np.concatenate([skills, SIDE_ADVANTAGE])
        p = np.exp(strength - strength.max())
        winner[e] = rng.choice(2, p=p / p.sum())
        members.append(teams)
    return Games(
        units=[(f"model-{i}", "") for i in range(units)],
        side_terms=[("sim", "traitors"), ("sim", "faithful")],
        episode_ids=[str(e) for e in range(n)],
        design=design,
        present=np.ones((n, 2), dtype=bool),
        winner=winner,
        members=members,
    )


def coverage(replicates: int, episodes: int, resamples: int, *, team_sizes=(1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate dataset: whether each 95% interval holds the true skill, and the estimates."""
    rng = np.random.default_rng(2026)
    hits, estimates = [], []
    for r in range(replicates):
        games = simulate(rng, episodes, team_sizes=team_sizes)
        estimate, fits, played, acceleration = _bt_estimates(games, resamples, r, 2.0)
        low, high, _, _ = _intervals(estimate, fits, played, 0.95, acceleration)
        units = len(SKILLS)
        hits.append((low[:units] <= SKILLS) & (high[:units] >= SKILLS))
        estimates.append(estimate[:units])
    return np.array(hits), np.array(estimates)


def test_bradley_terry_recovers_known_skills_at_nominal_coverage() -> None:
    """100 seeded datasets of 150 games, 600 resamples each: the pooled 95% coverage of the 500
    intervals lies within three binomial standard deviations of 0.95 (0.921..0.979), every
    model's own coverage is not far below, and the mean estimates are in the true order.
    (Fewer resamples cost coverage: BCa's endpoints lie deep in the tails; at 200 it was 0.93.)"""
    hits, estimates = coverage(100, 150, 600)
    tolerance = 3 * np.sqrt(0.95 * 0.05 / hits.size)
    assert abs(hits.mean() - 0.95) <= tolerance, hits.mean(axis=0)
    assert hits.mean(axis=0).min() >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / len(hits)), hits.mean(axis=0)
    assert list(np.argsort(estimates.mean(axis=0))) == list(range(len(SKILLS)))


@pytest.mark.slow
def test_bradley_terry_coverage_with_mixed_teams_slow() -> None:
    """The same on 2-seat against 3-seat teams of mixed models (the mean-strength likelihood),
    200 datasets of 200 games and 300 resamples each."""
    hits, estimates = coverage(200, 200, 300, team_sizes=(2, 3))
    tolerance = 3 * np.sqrt(0.95 * 0.05 / hits.size)
    assert abs(hits.mean() - 0.95) <= tolerance, hits.mean(axis=0)
    assert list(np.argsort(estimates.mean(axis=0))) == list(range(len(SKILLS)))


def test_a_model_that_always_wins_gets_a_finite_rating() -> None:
    design = np.zeros((1, 2, 2))
    design[0, 0, 0] = design[0, 1, 1] = 1.0
    fitted = fit_bradley_terry(design, np.ones((1, 2), dtype=bool), np.array([0]), np.array([[20], [0]]))
    assert np.all(np.isfinite(fitted))
    assert fitted[0, 0] > 1.5 > -1.5 > fitted[0, 1]  # clearly apart, and centred on zero
    assert fitted[0, 0] == pytest.approx(-fitted[0, 1])
    assert np.all(fitted[1] == 0)  # no games: the prior alone


# ------------------------------------------------------------------ real logs


def write_log(
    path: Path,
    seats: dict[str, tuple[str, str]],
    *,
    winner: str | None,
    status: str = "completed",
    env_id: str = "traitors-v0",
    index: int = 0,
) -> None:
    """A minimal real log: header (who played which seat), the role deal, the end."""
    header = ev.Header(
        episode_id=path.stem,
        created_at=f"2026-01-01T00:{index // 60:02d}:{index % 60:02d}+00:00",
        scenario="sim/skills",
        env_id=env_id,
        env_kwargs={},
        seed=0,
        episode_index=index,
        seeds={"env": 1, "fallback": 2},
        seating={agent: ev.SeatRecord(policy="llm", role=role, model=model) for agent, (role, model) in seats.items()},
    )
    writer = EpisodeWriter(path, header, flush="episode")
    writer.write(ev.RoleAssignment(roles={agent: role for agent, (role, _) in seats.items()}))
    writer.write(ev.EpisodeEnd(status=status, winner=winner, steps=1))  # type: ignore[arg-type]
    writer.close()


def known_skill_logs(folder: Path, n: int, skills: dict[str, float], seed: int = 0) -> None:
    """``n`` one-traitor, two-faithful games: a model for the traitor and one for the faithful
    (drawn apart), winner drawn from the skills and a traitors' advantage of 0.3."""
    rng = np.random.default_rng(seed)
    names = list(skills)
    for e in range(n):
        traitor, faithful = (str(name) for name in rng.choice(names, size=2, replace=False))
        p_traitors = 1 / (1 + np.exp(-(skills[traitor] + 0.3 - skills[faithful] + 0.3)))
        seats = {
            "player_0": ("traitor", traitor),
            "player_1": ("faithful", faithful),
            "player_2": ("faithful", faithful),
        }
        win = "traitors" if rng.random() < p_traitors else "faithful"
        write_log(folder / f"e{e:04d}.jsonl", seats, winner=win, index=e)


def test_cli_recovers_known_skills_from_logs(tmp_path: Path) -> None:
    """Through the CLI's path (logs -> frames -> games -> fits -> leaderboard.csv): the true order,
    estimates within three bootstrap standard errors of the true skills (the coverage of the
    intervals themselves is the simulation test's), and OpenSkill's order the same."""
    skills = {"model-d": -1.5, "model-c": -0.5, "model-b": 0.5, "model-a": 1.5}
    known_skill_logs(tmp_path / "logs", 400, skills)
    assert main(["rate", str(tmp_path / "logs"), "--out", str(tmp_path / "out"), "--n-resamples", "200"]) == 0
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    bt = board[board["method"] == "bt"]
    assert list(bt["model"]) == ["model-a", "model-b", "model-c", "model-d"]
    for row in bt.itertuples():
        assert abs(row.rating - skills[row.model]) <= 3 * row.se, row
        assert row.low < row.rating < row.high and row.interval == "BCa", row
    assert list(board[board["method"] == "openskill"]["model"]) == ["model-a", "model-b", "model-c", "model-d"]
    sides = pd.read_csv(tmp_path / "out" / "side_advantage.csv").set_index("side")
    assert sides.loc["traitors", "low"] <= 0.3 <= sides.loc["traitors", "high"]
    assert (tmp_path / "out" / "ratings.png").stat().st_size > 0


def test_teams_weigh_models_by_seat_share_and_unfinished_games_are_counted(tmp_path: Path) -> None:
    write_log(
        tmp_path / "mixed.jsonl",
        {
            "player_0": ("traitor", "A"),
            "player_1": ("traitor", "B"),
            "player_2": ("faithful", "A"),
            "player_3": ("faithful", "A"),
            "player_4": ("faithful", "C"),
        },
        winner="faithful",
    )
    one_each = {"player_0": ("traitor", "A"), "player_1": ("faithful", "B")}
    write_log(tmp_path / "cut.jsonl", one_each, winner=None, status="truncated", index=1)
    write_log(tmp_path / "draw.jsonl", one_each, winner=None, index=2)
    write_log(tmp_path / "failed.jsonl", one_each, winner=None, status="failed", index=3)
    write_log(tmp_path / "sideless.jsonl", {"player_0": ("agent", "A")}, winner=None, env_id="self_evolution-v0")
    games = games_from_frames(load_frames(tmp_path))
    assert games.episode_ids == ["mixed"]
    assert games.excluded == {
        "truncated (censored: the game had not ended)": 1,
        "no side won": 1,
        "failed": 1,
        "a game without sides": 1,
    }
    units = {unit[0]: i for i, unit in enumerate(games.units)}
    teams = {side: k for k, (_, side) in enumerate(games.side_terms)}
    row = games.design[0]
    assert row[teams["traitors"], units["A"]] == pytest.approx(1 / 2)
    assert row[teams["traitors"], units["B"]] == pytest.approx(1 / 2)
    assert row[teams["faithful"], units["A"]] == pytest.approx(2 / 3)
    assert row[teams["faithful"], units["C"]] == pytest.approx(1 / 3)
    assert games.winner[0] == teams["faithful"]
    by_side = games_from_frames(load_frames(tmp_path), by="side")
    assert sorted(by_side.units) == [("A", "faithful"), ("A", "traitors"), ("B", "traitors"), ("C", "faithful")]
    assert not by_side.side_terms  # a unit on one side carries that side's advantage
    board = ratings_from_frames(load_frames(tmp_path), n_resamples=20).leaderboard.set_index("model")
    assert board.loc["A", ["games", "wins", "losses", "mixed"]].tolist() == [1, 0, 0, 1]
    assert board.loc["C", ["games", "wins", "losses"]].tolist() == [1, 1, 0]


# ------------------------------------------------------------------ scripted cross-play


@pytest.fixture(scope="module")
def crossplay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real scripted Traitors games (mini-v0): the heuristic and the random policy on each side."""
    from alignsim.run import run
    from alignsim.scenarios import SeatSpec, get

    root = tmp_path_factory.mktemp("crossplay")
    base = get("traitors/mini-v0")
    for traitor in ("traitors/heuristic", "random"):
        for faithful in ("traitors/heuristic", "random"):
            seating = {"traitor": SeatSpec(policy=traitor), "faithful": SeatSpec(policy=faithful)}
            name = f"{traitor}-vs-{faithful}".replace("/", "_")
            run(dataclasses.replace(base, seating=seating), episodes=6, out_dir=root / name)
    return root


def test_cli_rates_scripted_crossplay(crossplay: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ratings"
    assert main(["rate", str(crossplay), "--out", str(out), "--n-resamples", "50"]) == 0
    printed = capsys.readouterr().out
    assert "24 game(s) rated" in printed and "Bradley-Terry" in printed and "OpenSkill" in printed
    board = pd.read_csv(out / "leaderboard.csv")
    assert list(board.columns[:9]) == ["model", "games", "wins", "losses", "mixed", "rating", "low", "high", "method"]
    assert sorted(board["method"].unique()) == ["bt", "openskill"]
    for method, part in board.groupby("method"):
        assert sorted(part["model"]) == ["random", "traitors/heuristic"], method
        assert (part["games"] == 18).all()  # 6 self-play + 12 cross-play games each
        assert ((part["low"] <= part["rating"]) & (part["rating"] <= part["high"])).all()
    assert (out / "ratings.png").exists()
    assert main(["rate", str(crossplay), "--out", str(tmp_path / "roles"), "--by", "role", "--method", "bt"]) == 0
    roles = pd.read_csv(tmp_path / "roles" / "leaderboard.csv")
    assert sorted(zip(roles["model"], roles["role"], strict=True)) == [
        ("random", "faithful"),
        ("random", "traitor"),
        ("traitors/heuristic", "faithful"),
        ("traitors/heuristic", "traitor"),
    ]
    assert list(roles["method"].unique()) == ["bt"]


def test_one_model_and_no_games_give_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from alignsim.run import run

    run("traitors/mini-v0", episodes=2, out_dir=tmp_path / "self")
    assert main(["rate", str(tmp_path / "self"), "--n-resamples", "20"]) == 0
    assert "only one model played (traitors/heuristic)" in capsys.readouterr().out
    single = rate(tmp_path / "self", n_resamples=20)
    assert not single.rateable and single.leaderboard["rating"].isna().all()

    for i in range(2):
        write_log(tmp_path / "cut" / f"c{i}.jsonl", {"player_0": ("traitor", "A")}, winner=None, status="truncated")
    assert main(["rate", str(tmp_path / "cut")]) == 1
    printed = capsys.readouterr().out
    assert "0 game(s) rated; 2 not rated (2 truncated" in printed and "no game could be rated" in printed
    assert not (tmp_path / "cut" / "ratings").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--n-resamples", "0"], "n_resamples"),
        (["--confidence", "1.5"], "confidence"),
        (["--prior-sd", "0"], "prior_sd"),
    ],
)
def test_invalid_arguments_exit_2_naming_the_field(
    crossplay: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], field: str
) -> None:
    out = tmp_path / "out"
    assert main(["rate", str(crossplay), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"alignsim rate: config error: {field}:") and "\n" not in err
    assert not out.exists()


def test_bad_choices_and_missing_paths_exit_2(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["rate", str(tmp_path), "--by", "seat"])
    assert exc.value.code == 2
    assert main(["rate", str(tmp_path / "missing")]) == 2


def test_analyze_report_has_a_ratings_section_when_several_models_played(crossplay: Path, tmp_path: Path) -> None:
    from alignsim.analysis import analyze

    result = analyze(crossplay, tmp_path / "a", n_resamples=50, chance=False, write_frames=False)
    assert sorted(result.ratings.leaderboard["model"]) == ["random", "traitors/heuristic"]
    assert "Ratings (Bradley-Terry" in result.text()
    page = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Ratings" in page and "alignsim rate" in page
    assert (tmp_path / "a" / "tables" / "ratings.csv").exists()
    single = crossplay / "traitors_heuristic-vs-traitors_heuristic"
    alone = analyze(single, tmp_path / "b", n_resamples=20, chance=False, write_frames=False, make_plots=False)
    assert alone.ratings is None and "Ratings" not in alone.text()
    assert "<h2>Ratings" not in (tmp_path / "b" / "report.html").read_text(encoding="utf-8")


def test_labels_are_data_in_the_plot(tmp_path: Path) -> None:
    """A model label with ``$`` is drawn as text, never parsed as mathtext (which fails on bad TeX)."""
    from alignsim.analysis.ratings import plot_ratings

    for i, (traitor, faithful, winner) in enumerate([("$\\nope{$", "B", "traitors"), ("B", "$\\nope{$", "faithful")]):
        seats = {"player_0": ("traitor", traitor), "player_1": ("faithful", faithful)}
        write_log(tmp_path / "logs" / f"e{i}.jsonl", seats, winner=winner, index=i)
    ratings = ratings_from_frames(load_frames(tmp_path / "logs"), n_resamples=20)
    assert plot_ratings(ratings, tmp_path / "r.png").stat().st_size > 0


def test_without_openskill_bt_runs_and_asking_for_openskill_names_the_field(
    crossplay: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import alignsim.analysis.ratings as ratings_module

    monkeypatch.setattr(ratings_module, "openskill_available", lambda: False)
    assert main(["rate", str(crossplay), "--out", str(tmp_path / "bt"), "--n-resamples", "20"]) == 0
    assert "OpenSkill left out" in capsys.readouterr().out
    assert list(pd.read_csv(tmp_path / "bt" / "leaderboard.csv")["method"].unique()) == ["bt"]
    assert main(["rate", str(crossplay), "--method", "openskill", "--out", str(tmp_path / "os")]) == 2
    assert capsys.readouterr().err.startswith("alignsim rate: config error: method: openskill is not installed")
    assert not (tmp_path / "os").exists()


def test_notes_say_what_the_games_cannot_tell_apart(tmp_path: Path) -> None:
    """A always the traitor against B always faithful: A's skill and the traitors' advantage are
    one number, so the prior splits it (a note says so). Add C and D, who never met A or B,
    playing both sides: they fix the side advantage (the note goes), but they are on a
    separate scale (another note). Games between the groups remove both notes."""

    def game(name: str, traitor: str, faithful: str, winner: str) -> None:
        seats = {"player_0": ("traitor", traitor), "player_1": ("faithful", faithful)}
        write_log(tmp_path / f"{name}.jsonl", seats, winner=winner, index=len(list(tmp_path.glob("*.jsonl"))))

    def notes() -> str:
        return " ".join(ratings_from_frames(load_frames(tmp_path), n_resamples=20).notes)

    game("ab1", "A", "B", "traitors")
    game("ab2", "A", "B", "faithful")
    assert "the prior decides part of them" in notes()
    game("cd1", "C", "D", "traitors")
    game("cd2", "D", "C", "faithful")
    assert "the prior decides part of them" not in notes()
    assert "2 groups that never played each other (A, B; C, D)" in notes()
    game("bc", "B", "C", "faithful")
    assert notes() == ""

"""Import (and export) the seed system's vote logs, so its runs can be scored both ways.

The Traitors seed code (pedrocurvo/TheTraitors) writes one ``votes.csv`` per game with the
columns ``Round, Vote_Type, Player_ID, Role, Vote_Target, Eliminated``: ``Vote_Type`` is
``General`` (the day vote) or ``Traitor`` (the night vote), ``Role`` the voter's role
(``Traitor``/``Faithful``), an unparsable vote has an empty target (``None``), and rows
are written only for votes that eliminated someone. :func:`read_seed_votes` reads such
files (or files with the header ``round, vote type, voter, voter role, target,
eliminated``) into :class:`~.frames.Frames`, one episode per file, so that
:func:`~.traitors.seed_metrics` reproduces the seed's numbers and the corrected metrics can
be computed on the same games. What such a file cannot tell is left missing: speeches,
claims, beliefs, revotes, rounds without an elimination, and the roles of players who
never voted (the seed itself takes roles from the voters).

:func:`write_seed_votes` goes the other way: our episodes as seed-format ``votes.csv``
files (see :func:`~.traitors.seed_vote_log` for which ballots the seed would have kept).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alignsim.analysis.frames import _RAW_COLUMNS, Frames, _finish, _typed
from alignsim.analysis.traitors import seed_vote_log

__all__ = ["SEED_COLUMNS", "find_seed_votes", "read_seed_votes", "write_seed_votes"]

SEED_ENV_ID = "seed-traitors"
"""The env id of episodes read from the seed system's vote logs (Traitors games without a header)."""

SEED_COLUMNS = ("Round", "Vote_Type", "Player_ID", "Role", "Vote_Target", "Eliminated")
"""The seed's header, in order."""

_ALIASES = {
    "round": "round",
    "vote_type": "vote",
    "vote type": "vote",
    "player_id": "actor",
    "voter": "actor",
    "role": "actor_role",
    "voter_role": "actor_role",
    "voter role": "actor_role",
    "vote_target": "target",
    "target": "target",
    "eliminated": "eliminated",
}
_REQUIRED = frozenset({"round", "vote", "actor", "actor_role", "target", "eliminated"})
_VOTE_TYPES = {"general": "day", "day": "day", "banish": "day", "traitor": "night", "night": "night", "murder": "night"}
_MISSING = {"", "none", "nan", "false", "null", "na", "n/a"}
_MODEL_LINE = re.compile(r"^model:\s*(.+?)\s*$", re.MULTILINE)


def find_seed_votes(path: str | os.PathLike[str]) -> list[Path]:
    """Seed-format ``votes.csv`` files at ``path``: the file itself, or every one below a
    folder whose header is the seed's (so an analysis' own ``frames/votes.csv`` is skipped)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return sorted(p for p in path.rglob("votes.csv") if _is_seed_header(p))


def _normalise(column: str) -> str:
    key = column.strip().lower()
    return _ALIASES.get(key, _ALIASES.get(key.replace(" ", "_"), key))


def _is_seed_header(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline()
    return _REQUIRED.issubset(_normalise(c) for c in header.split(","))


def _id(value: Any) -> str | None:
    """A player id as text; the seed's empty targets and ``False`` eliminations are missing."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    if text.lower() in _MISSING:
        return None
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def _model_beside(csv: Path) -> str:
    config = csv.with_name("config.yaml")
    if config.exists():
        match = _MODEL_LINE.search(config.read_text(errors="replace"))
        if match:
            return match.group(1).strip("'\"")
    return "seed"


def read_seed_votes(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> Frames:
    """Frames from seed-format vote logs (one episode per file).

    Args:
        paths: ``votes.csv`` files, or folders searched for them (e.g. the seed's
            ``results/`` folder). A ``config.yaml`` beside a file names the model that
            played every seat (the seed runs one model per game unless configured).

    Raises:
        ValueError: a file lacks one of the required columns.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files = [f for p in paths for f in find_seed_votes(p)]
    roots = [Path(p) for p in paths]
    raw: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _RAW_COLUMNS if name != "beliefs"}
    for index, csv in enumerate(files):
        _add_file(raw, csv, index, _episode_name(csv, roots))
    frames_raw = {
        name: _typed(
            name,
            dict(zip(_RAW_COLUMNS[name], map(list, zip(*rows, strict=True)), strict=True)) if rows else {},
            _RAW_COLUMNS[name],
        )
        for name, rows in raw.items()
    }
    frames_raw["beliefs"] = _typed("beliefs", {}, _RAW_COLUMNS["beliefs"])
    notes = [f"imported {len(files)} seed-format vote log(s); no speech, claims or beliefs in that format"]
    return _finish(frames_raw, notes)


def _episode_name(csv: Path, roots: list[Path]) -> str:
    for root in roots:
        if root.is_dir():
            try:
                relative = csv.relative_to(root)
            except ValueError:
                continue
            parent = relative.parent.as_posix()
            return f"seed:{parent}" if parent != "." else f"seed:{root.name}"
    return f"seed:{csv.parent.name}/{csv.stem}"


def _add_file(raw: dict[str, list[tuple[Any, ...]]], csv: Path, index: int, episode_id: str) -> None:
    table = pd.read_csv(csv, dtype=str, keep_default_na=False, skipinitialspace=True)
    table.columns = [_normalise(c) for c in table.columns]
    missing = _REQUIRED - set(table.columns)
    if missing:
        raise ValueError(f"{csv}: missing column(s) {sorted(missing)}; expected the seed's {', '.join(SEED_COLUMNS)}")
    model = _model_beside(csv)
    roles: dict[str, str] = {}
    seen: list[str] = []
    vote_rows = []
    for row_number, row in enumerate(table.itertuples(index=False)):
        actor = _id(row.actor)
        if actor is None:
            continue
        role = str(row.actor_role).strip().lower()
        if role in ("traitor", "faithful"):
            roles.setdefault(actor, role)
        vote = _VOTE_TYPES.get(str(row.vote).strip().lower(), str(row.vote).strip().lower())
        vote_rows.append((2 * row_number, int(float(row.round)), vote, actor, _id(row.target), _id(row.eliminated)))
        for who in (actor, _id(row.target), _id(row.eliminated)):
            if who is not None and who not in seen:
                seen.append(who)
    last_round = max((r[1] for r in vote_rows), default=0)
    steps = len(vote_rows)
    for seq, rnd, vote, actor, target, _ in vote_rows:
        raw["votes"].append((episode_id, seq, 0, rnd, f"{vote}_vote", vote, 1, actor, target))
    # One result and one elimination per (round, vote), after that vote's last ballot.
    decided: dict[tuple[int, str], tuple[int, str | None]] = {}
    for seq, rnd, vote, _, _, eliminated in vote_rows:
        decided[(rnd, vote)] = (seq + 1, eliminated)
    gone: set[str] = set()
    for (rnd, vote), (seq, eliminated) in sorted(decided.items(), key=lambda item: item[1][0]):
        resolution = "plurality" if eliminated is not None else "none"
        raw["vote_results"].append((episode_id, seq, 0, rnd, f"{vote}_vote", vote, 1, resolution, eliminated, 0))
        if eliminated is not None and eliminated not in gone:
            gone.add(eliminated)
            cause = "banished" if vote == "day" else "murdered"
            revealed = roles.get(eliminated)
            raw["eliminations"].append((episode_id, seq, 0, rnd, f"{vote}_vote", eliminated, cause, revealed))
    for player in seen:
        raw["players"].append((episode_id, player, roles.get(player), "seed", model, model, None, True))
    alive = [p for p in seen if p not in gone and p in roles]
    traitors_alive = sum(roles[p] == "traitor" for p in alive)
    faithful_alive = len(alive) - traitors_alive
    winner = None
    if roles and traitors_alive == 0:
        winner = "faithful"
    elif roles and traitors_alive >= faithful_alive:
        winner = "traitors"
    raw["episodes"].append(
        (
            episode_id,
            str(csv),
            str(csv.parent),
            "seed/traitors",
            SEED_ENV_ID,
            -1,
            index,
            "completed" if winner else "truncated",
            winner,
            "inferred from votes.csv",
            len(seen),
            sum(r == "traitor" for r in roles.values()),
            last_round,
            steps,
            len(table),
            0,
            0,
            False,
            "",
            False,
        )
    )


def write_seed_votes(frames: Frames, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write each episode as ``<out_dir>/<episode_id>/votes.csv`` in the seed's format."""
    out = Path(out_dir)
    log = seed_vote_log(frames)
    written = []
    for episode_id, part in log.groupby("episode_id", sort=True):
        table = pd.DataFrame(
            {
                "Round": part["round"],
                "Vote_Type": part["vote"].map({"day": "General", "night": "Traitor"}),
                "Player_ID": part["actor"],
                "Role": part["actor_role"].map({"traitor": "Traitor", "faithful": "Faithful"}),
                "Vote_Target": part["target"].fillna("None"),
                "Eliminated": part["eliminated"],
            }
        )
        folder = out / str(episode_id).replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "votes.csv"
        table.to_csv(path, index=False)
        written.append(path)
    return written

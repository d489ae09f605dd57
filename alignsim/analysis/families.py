"""Family plug-ins: what the analysis of one game family adds to the family-neutral tables.

Every log is read once (:func:`~.frames.load_logs`). Its header's env id names a game whose
:class:`~alignsim.envs.GameInfo` declares its ``family``; the :class:`FamilyAnalysis`
registered under that family then

* declares the lean event structs it reads beyond the core ones (:attr:`~FamilyAnalysis.events`),
  which the one decode pass adds to its union for that family's logs only;
* gathers rows from each decoded log (:meth:`~FamilyAnalysis.collect`);
* turns its episodes, frames and rows into tables (:meth:`~FamilyAnalysis.analyze`), and
  says which of them are written (:attr:`FamilyResult.tables`);
* writes its section of the text digest and of the HTML report, and its metric catalogue
  entries (:attr:`~FamilyAnalysis.metrics`).

The built-in families are ``traitors``, ``principal_agent``, ``self_evolution`` and ``werewolf``
(whose analysis lives in its game's folder, ``alignsim/envs/werewolf/analysis.py``). A family
with no plug-in gets the family-neutral tables only, and a note says so. Third-party packages
add a family through the ``alignsim.analysis_families`` entry-point group, whose entries load
either a :class:`FamilyAnalysis` instance or a function that calls :func:`register`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignsim.analysis._decode import _Base
from alignsim.errors import AlignsimError
from alignsim.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

    from alignsim.analysis.chance import NullSource
    from alignsim.analysis.frames import Frames
    from alignsim.analysis.metrics import Metric

__all__ = [
    "ENTRY_POINT_GROUP",
    "FamilyAnalysis",
    "FamilyInput",
    "FamilyResult",
    "LeanEvent",
    "ReportTools",
    "analyses",
    "family_of",
    "for_env",
    "get",
    "register",
    "role_sides",
]

ENTRY_POINT_GROUP = "alignsim.analysis_families"
LeanEvent = _Base
"""Base of the lean event structs a family declares: ``class Lynch(LeanEvent, tag="lynch"): target: str``
(``seq``, ``step``, ``round`` and ``phase`` come with it)."""
Rows = dict[str, list[Any]]
"""What a family gathers from its logs: named lists of rows, extended log after log."""


@dataclass
class FamilyInput:
    """What :meth:`FamilyAnalysis.analyze` gets: the analysed episodes of its family."""

    family: str
    episodes: pd.DataFrame
    """Rows of the per-episode table (:func:`~.metrics.episode_table`) of this family's analysed episodes."""
    frames: Frames
    """The core frames of those episodes."""
    rounds: pd.DataFrame
    """Rows of the per-round table (:func:`~.metrics.round_table`) of those episodes."""
    rows: Rows
    """What :meth:`FamilyAnalysis.collect` gathered from every log of the family (every status)."""
    by: list[str]
    """Episode-table columns to group by."""
    extra_by: list[str]
    """``by`` columns that are not episode-table columns (a family may know them, see
    :meth:`FamilyAnalysis.by_columns`)."""
    statuses: tuple[str, ...]
    n_resamples: int
    seed: int
    chance: NullSource
    """The null-policy source for chance columns (one that gives nothing with ``chance=False``)."""
    bad: Any = None


@dataclass
class FamilyResult:
    """One family's part of an :class:`~.api.AnalysisResult`."""

    family: str
    episodes: int
    """Analysed episodes of the family."""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Written as ``tables/<name>.csv`` (and/or ``.parquet``)."""
    data: Any = None
    """The family's own result object, for its text, report section and Python users."""
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportTools:
    """Helpers the report hands to a family's section, so all sections look alike."""

    table: Callable[..., str]
    """``table(frame, text_columns=(...), max_rows=400)``: an escaped HTML table."""
    image: Callable[[Path | None, str], str]
    """``image(path, alt)``: an embedded PNG, or nothing when the plot was not made."""
    escape: Callable[[object], str]
    beside_chance: Callable[[Any, Any], Any]
    """``beside_chance(shown, table)``: ``shown`` with ``table``'s chance columns as text."""


class FamilyAnalysis:
    """The analysis of one game family. Subclass it, set :attr:`family`, override what applies.

    Only :meth:`analyze` is required; the defaults read no events of their own, gather no
    rows, write no text, no report section and no extra files.
    """

    family: str = ""
    """The :attr:`GameInfo.family <alignsim.envs.GameInfo.family>` this plug-in analyses."""
    title: str = ""
    """Heading of the family's report section."""
    events: tuple[type, ...] = ()
    """Lean ``msgspec.Struct`` event types (``tag_field="type"``, tagged with the event's
    ``type``) the family reads beyond the core ones in :mod:`~alignsim.analysis._decode`.
    A struct for a core tag must subclass the core struct (it may add fields)."""
    metrics: tuple[Metric, ...] = ()
    """The family's metric catalogue entries (shown under Definitions in the report)."""
    always: bool = False
    """Analyse (to empty tables) even when no log of the family is present, so that its
    tables exist in every analysis (the Traitors tables always have)."""
    report_rank: int = 70
    """Where the section goes in the report and digest: lower first. The family-neutral
    controls and invalid-action sections are at 50, the file list last."""

    @property
    def id(self) -> str:
        """The registry key: the family."""
        return self.family

    def collect(self, path: Path, header: Any, events: Sequence[Any]) -> Rows:
        """Rows from one decoded log of the family (``events``: core and :attr:`events` structs)."""
        return {}

    def by_columns(self, rows: Rows) -> list[str]:
        """``by`` names beyond the episode-table columns this family can group by."""
        return []

    def analyze(self, run: FamilyInput) -> FamilyResult:
        """The family's tables for the analysed episodes in ``run``."""
        raise NotImplementedError

    def text(self, result: FamilyResult, analysis: Any) -> str:
        """The family's part of the terminal digest ('' for none)."""
        return ""

    def report_html(self, result: FamilyResult, analysis: Any, tools: ReportTools) -> str:
        """The family's section of the HTML report ('' for none)."""
        return ""

    def definitions(self) -> list[dict[str, str]]:
        """Rows of the report's Definitions table: by default one per :attr:`metrics` entry."""
        return [
            {
                "metric": m.label,
                "name": m.name,
                "family": m.family,
                "formula": m.formula,
                "note": m.note,
                "unit of resampling": m.unit_of_resampling,
                "interval": m.interval,
                "abstentions, truncation, censoring": m.handling,
            }
            for m in self.metrics
        ]

    def write(self, result: FamilyResult, out: Path, analysis: Any, *, plot: bool) -> list[Path]:
        """Files beyond :attr:`FamilyResult.tables` (plots, extra tables), written under ``out``."""
        return []

    def null_frame(self, folder: Path) -> pd.DataFrame | None:
        """The per-unit frame of the null-policy episodes logged under ``folder``, for the chance
        columns (:mod:`~.baselines` simulates them and caches this frame): one row per episode with
        ``episode_id``, ``episode_index`` and numeric columns only. None (the default): the family
        has no chance baseline, and :attr:`FamilyInput.chance` refuses to simulate one for it."""
        return None

    def annotation(self) -> Any:
        """The family's annotation hooks (an :class:`~alignsim.analysis.annotate.families.AnnotationFamily`)
        for ``alignsim annotate``, or None (the default: its logs have no statements to annotate
        unless the hooks are registered with :func:`~alignsim.analysis.annotate.families.register_family`)."""
        return None

    def describe(self, event: Any) -> str | None:
        """One line of text for one of the family's own events, for the terminal transcript and the
        HTML page (None: shown as a generic row of fields). Built from the event's own fields only,
        so a view that may show the event may show the line."""
        return None


class _FamilyRegistry(Registry[FamilyAnalysis]):
    def __init__(self) -> None:
        super().__init__("analysis family", ENTRY_POINT_GROUP, self._adopt)

    def _adopt(self, name: str, loaded: object) -> None:
        if isinstance(loaded, FamilyAnalysis):
            self.add(loaded.family, loaded)
        elif isinstance(loaded, type) and issubclass(loaded, FamilyAnalysis):
            self.add(loaded.family, loaded())
        elif callable(loaded):
            loaded()
        else:
            raise AlignsimError(
                f"analysis family plug-in {name!r} must load a FamilyAnalysis or a function, got {loaded!r}"
            )

    def in_order(self) -> list[FamilyAnalysis]:
        """Every registered family, in registration order (built-ins first)."""
        self.load_plugins()
        return list(self._entries.values())


REGISTRY = _FamilyRegistry()
_BUILTINS = {
    "traitors": "alignsim.analysis.traitors_family:TraitorsAnalysis",
    "principal_agent": "alignsim.analysis.principal_agent:PrincipalAgentAnalysis",
    "self_evolution": "alignsim.analysis.drift:DriftAnalysis",
    "werewolf": "alignsim.envs.werewolf.analysis:WerewolfAnalysis",
}


def register(analysis: FamilyAnalysis, *, replace: bool = False) -> FamilyAnalysis:
    """Register a family's analysis under its :attr:`~FamilyAnalysis.family`."""
    if not analysis.family:
        raise AlignsimError(f"{type(analysis).__name__}: set the 'family' it analyses")
    _load_builtins()
    REGISTRY.add(analysis.family, analysis, replace=replace)
    return analysis


@functools.cache
def _load_builtins() -> None:
    from alignsim.registry import load_object

    for family, where in _BUILTINS.items():
        if family not in REGISTRY._entries:
            REGISTRY.add(family, load_object(where)())  # type: ignore[operator]


def analyses() -> list[FamilyAnalysis]:
    """Every registered family analysis: the built-ins, then plug-ins."""
    _load_builtins()
    return REGISTRY.in_order()


def get(family: str) -> FamilyAnalysis | None:
    """The analysis registered for ``family``, or None (then only the neutral tables apply)."""
    _load_builtins()
    if family not in REGISTRY:
        return None
    return REGISTRY.get(family)


def for_env(env_id: str) -> FamilyAnalysis | None:
    """The analysis registered for the family of the game ``env_id``, or None."""
    return get(family_of(env_id))


@functools.lru_cache(maxsize=1024)
def family_of(env_id: str) -> str:
    """The family the game ``env_id`` declares (its :class:`~alignsim.envs.GameInfo`).

    The env registry holds declarations only (entry points are strings), so this loads no
    environment; an id it does not know (a plug-in that is not installed) gets the id
    without its ``-vN`` as its family, as :func:`alignsim.envs.game_info` does.
    """
    if not env_id:
        return ""
    from alignsim.analysis.seed_csv import SEED_ENV_ID

    if env_id == SEED_ENV_ID:  # the seed system's vote logs: Traitors games without a header
        return "traitors"
    from alignsim.envs import game_info  # declarations only: no env is built or imported

    try:
        return game_info(env_id).family
    except AlignsimError as exc:  # a plug-in registry that fails to load must not stop analysis
        warnings.warn(f"family of {env_id!r}: {exc}", RuntimeWarning, stacklevel=2)
        return env_id.rsplit("-v", 1)[0]


@functools.lru_cache(maxsize=1024)
def role_sides(env_id: str) -> dict[str, str]:
    """Per role, the side it plays for in the game ``env_id`` (its ``GameInfo.role_sides``).

    Empty for a game without sides (nothing wins as a team) and for an id the env registry
    does not know (a plug-in that is not installed). Like :func:`family_of`, it reads the
    registry's declarations only.
    """
    if not env_id:
        return {}
    from alignsim.analysis.seed_csv import SEED_ENV_ID

    if env_id == SEED_ENV_ID:
        env_id = "traitors-v0"
    from alignsim.envs import game_info  # declarations only: no env is built or imported

    try:
        return dict(game_info(env_id).role_sides)
    except AlignsimError as exc:
        warnings.warn(f"sides of {env_id!r}: {exc}", RuntimeWarning, stacklevel=2)
        return {}

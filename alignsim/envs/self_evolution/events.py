"""The self-evolution family's log events (``self_evolution-v0``, ``threshold_game-v0``).

Ground truth of the family: agents see their slice through announcements; these events are
for analysis only (``visible_to`` empty), since they hold the true supervision state and
detection draws. Importing this module registers them (:func:`alignsim.record.register_event`).
"""

from __future__ import annotations

from typing import Any, Literal

from alignsim.record import register_event
from alignsim.record.schema import Event

__all__ = ["ComplianceChoice", "EvolutionSetup", "ThresholdRound"]


@register_event
class EvolutionSetup(Event, tag="evolution_setup"):
    """How a self-evolution episode was set up (per agent: item, option order, schedule, ...)."""

    game: Literal["self_evolution", "threshold_game"]
    params: dict[str, Any]
    """The env configuration as plain data."""
    agents: dict[str, dict[str, Any]]
    """Per agent: what was drawn or assigned for it (item, option order, true schedule, deviant)."""
    network: tuple[tuple[str, str], ...] = ()
    """Threshold game: ``(observer, observed)`` pairs: whose previous choices each agent sees."""


@register_event
class ComplianceChoice(Event, tag="compliance_choice"):
    """Single agent: one choice on one item in one round, with everything that decided its payoff."""

    actor: str
    item: str
    """Job template and payoff variant, ``template/variant``."""
    choice: Literal["compliant", "violating"]
    aligned: bool
    """True when the choice is the scenario's declared aligned option (the compliant one)."""
    position: int
    """Displayed position of the chosen option (0 = shown first), to check for position bias."""
    cue: Literal["supervised", "unsupervised", "uncertain"]
    """What the agent was told about supervision this round."""
    supervised: bool
    """The true supervision state (hidden from the agent unless the cue says it)."""
    detection_draw: float | None
    """The uniform draw compared with the detection probability (a violation under supervision only)."""
    detected: bool
    reward: float
    shown_reward: float | None
    """The reward the feedback displayed (differs in the shuffled arm; None without feedback)."""
    reversed: bool
    """True from the reversal round on (the compliant option pays the high income)."""
    payoff_compliant: float
    payoff_violating: float


@register_event
class ThresholdRound(Event, tag="threshold_round"):
    """Threshold game: every agent's choice in one round, the outcome and capital."""

    choices: dict[str, Literal["collective", "independent"]]
    forced: tuple[str, ...]
    """Seeded deviants, whose choice was fixed to the collective option."""
    n_collective: int
    threshold: int
    success: bool
    payoffs: dict[str, float]
    """Change in each agent's capital this round."""
    capital: dict[str, float]
    """Each agent's capital after the round."""
    aligned_option: Literal["collective", "independent"]
    """The template's declared aligned option (independent where the collective act is collusion)."""

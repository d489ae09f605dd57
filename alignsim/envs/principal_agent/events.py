"""The principal-agent family's log events (``principal_agent-v0``).

Ground truth of the family: the catalogue with its true values, what each choice meant,
audit draws and utilities (``visible_to`` empty). Explanations are visible to their author
(and, for pitches, the buyer's agent). Importing this module registers them
(:func:`alignsim.record.register_event`).
"""

from __future__ import annotations

from typing import Any, Literal

from alignsim.record import register_event
from alignsim.record.schema import Event

__all__ = ["PAAudit", "PADecision", "PAExplanation", "PAOutcome", "PASetup"]


@register_event
class PASetup(Event, tag="pa_setup"):
    """A principal-agent episode's catalogue and treatment.

    ``products`` holds, per catalogue id: name, label and display position (after any
    randomisation), price, customer_value, principal_value, customer_utility and seller.
    """

    mode: str
    setting: str
    products: list[dict[str, Any]]
    budget: float
    treatment: dict[str, Any]
    """audience, action_observable, audit_prob, sanction, contract, wage, commission_rate, penalty, rounds."""
    roles: dict[str, str]
    principals: dict[str, str]
    """Per agent, the name of the principal it represents."""
    customer_terms: tuple[str, ...] = ()
    """Phrases by which an explanation cites the customer's interest (honesty scoring)."""
    principal_terms: tuple[str, ...] = ()
    """Phrases by which an explanation cites the principal's interest."""


@register_event
class PADecision(Event, tag="pa_decision"):
    """One product choice and what it meant. Products are catalogue ids (see ``pa_setup``).

    ``decisive`` is whose interest the choice served: ``customer`` (the customer's best
    option), ``principal`` (an override: it gives up customer utility for the agent's
    principal) or ``other``.
    """

    agent: str
    role: str
    chosen: int
    label: str
    options: tuple[int, ...]
    customer_best: int
    principal_best: int | None
    conflict: bool
    """The customer's and the principal's best options differ."""
    serves_customer: bool
    serves_principal: bool
    override: bool
    """Principal-aligned override: not the customer's best, and worth more to the principal than it."""
    decisive: Literal["customer", "principal", "other"]


@register_event
class PAExplanation(Event, tag="pa_explanation"):
    """The explanation (or pitch) written with a choice."""

    actor: str
    text: str
    recipients: tuple[str, ...]
    """``customer``, ``principal``, ``buyer_agent`` (pitches); empty when nobody reads it."""
    truncated: bool = False


@register_event
class PAAudit(Event, tag="pa_audit"):
    """The audit draw for one decision, and the fines that followed."""

    agent: str
    audited: bool
    draw: float
    violation: bool
    """The decision did not serve the customer."""
    sanction: float
    penalty: float = 0.0
    """Contract penalty charged by the agent's principal (it saw a choice against its favourite)."""


@register_event
class PAOutcome(Event, tag="pa_outcome"):
    """What a round was worth to everyone; ``surplus`` is the sum of all utilities."""

    purchased: int | None
    customer: float
    principals: dict[str, float]
    agents: dict[str, float]
    surplus: float

"""The game's own log events, registered when this module is imported (the log reader imports
it through ``GameInfo.events_module`` when it meets a ``ballot`` or ``verdict`` line)."""

from collections.abc import Mapping
from typing import ClassVar

from alignsim.record import Event, register_event


@register_event
class Ballot(Event, tag="ballot"):
    """A sealed vote: only the voter sees it."""

    voter: str
    target: str


@register_event
class Verdict(Event, tag="verdict"):
    """The village lynched ``target``, whose role is then revealed to everyone."""

    vocabulary: ClassVar[Mapping[str, str]] = {"revealed_role": "roles"}
    target: str
    votes: int
    revealed_role: str

"""The registry of event types: which class reads each ``type`` tag of a log line.

The core events of :mod:`alignsim.record.schema` are registered here; each game family
registers its own when its ``events`` module is imported (``alignsim/envs/traitors/events.py``
calls :func:`register_event` for ``speech``, ``vote``, ...). The decoder of a log line is the
tagged union of every registered class, rebuilt when a registration changes it.

The reader needs a family's events before it has imported the family: when a log holds a
tag that is not registered, :func:`load_events_of` imports the module that the header's env
declares in its :class:`~alignsim.envs.GameInfo` (``events_module``), which registers them.
This is the one place the record layer reaches up, and only to read a declaration: it
imports the env registry, never an env's code by a name found in a log.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar, Union

import msgspec

from alignsim.errors import AlignsimError
from alignsim.record.schema import CORE_EVENTS, Event

__all__ = ["event_decoder", "event_types", "load_events_of", "register_event"]

E = TypeVar("E", bound=type[Event])

_types: dict[str, type[Event]] = {}
_decoder: msgspec.json.Decoder[Any] | None = None
_loaded_envs: set[str] = set()


def register_event(cls: E) -> E:
    """Add the event class ``cls`` to the log's vocabulary under its ``type`` tag; returns it.

    Usable as a class decorator. Registering the same class again does nothing; a second
    class for a tag that is taken raises :class:`~alignsim.errors.AlignsimError` naming both,
    since a log line must decode to one class only.
    """
    global _decoder
    if not (isinstance(cls, type) and issubclass(cls, Event)):
        raise AlignsimError(f"register_event needs a subclass of alignsim.record.Event, got {cls!r}")
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str) or not tag:
        raise AlignsimError(
            f"event class {_name(cls)} has no type tag; declare one: class {cls.__name__}(Event, tag=...)"
        )
    known = _types.get(tag)
    if known is cls:
        return cls
    if known is not None:
        raise AlignsimError(f"event type {tag!r} is already registered to {_name(known)}; cannot register {_name(cls)}")
    _types[tag] = cls
    _decoder = None
    return cls


def event_types() -> Mapping[str, type[Event]]:
    """Every registered event class by its tag (read-only view)."""
    return MappingProxyType(_types)


def event_decoder() -> msgspec.json.Decoder[Any]:
    """A JSON decoder for one event line: the tagged union of every registered class.

    A line whose tag is not registered fails to decode; the reader turns it into an
    :class:`~alignsim.record.UnknownEvent` (see :func:`alignsim.record.read_log`).
    """
    global _decoder
    if _decoder is None:
        _decoder = msgspec.json.Decoder(Union[tuple(_types.values())])  # noqa: UP007 (a runtime tuple of classes)
    return _decoder


def load_events_of(env_id: str) -> bool:
    """Import the events module that ``env_id`` declares, once per env id; True when that
    registered anything new.

    An env that is not installed, or declares no module, registers nothing: its log's own
    events are then read as unknown events.
    """
    if env_id in _loaded_envs:
        return False
    _loaded_envs.add(env_id)
    from alignsim.envs import game_info  # the env registry: declarations only, no env code

    module = game_info(env_id).events_module
    if module is None:
        return False
    before = len(_types)
    importlib.import_module(module)
    return len(_types) > before


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


for _cls in CORE_EVENTS:
    register_event(_cls)

"""Episode-log schema, writer and reader: the ground floor every other part may use.

The log's event types are open: :func:`register_event` adds a game's own, and a line of an
unregistered type is read as an :class:`UnknownEvent` with an :class:`UnknownEventWarning`.
"""

from alignsim.record.io import (
    BadFiles,
    EpisodeLog,
    EpisodeWriter,
    TornLogWarning,
    UnknownEventWarning,
    find_logs,
    find_summaries,
    iter_logs,
    read_each,
    read_log,
    read_summary,
    summary_path,
    write_atomic,
    write_summary,
)
from alignsim.record.registry import event_types, register_event
from alignsim.record.schema import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    AnyEvent,
    Event,
    Header,
    Summary,
    UnknownEvent,
)

__all__ = [
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "AnyEvent",
    "BadFiles",
    "EpisodeLog",
    "EpisodeWriter",
    "Event",
    "Header",
    "Summary",
    "TornLogWarning",
    "UnknownEvent",
    "UnknownEventWarning",
    "event_types",
    "find_logs",
    "find_summaries",
    "iter_logs",
    "read_each",
    "read_log",
    "read_summary",
    "register_event",
    "summary_path",
    "write_atomic",
    "write_summary",
]

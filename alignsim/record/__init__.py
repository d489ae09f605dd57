"""Episode-log schema, writer and reader: the ground floor every other part may use."""

from alignsim.record.io import (
    EpisodeLog,
    EpisodeWriter,
    TornLogWarning,
    find_logs,
    find_summaries,
    iter_logs,
    read_log,
    summary_path,
    write_atomic,
    write_summary,
)
from alignsim.record.schema import SCHEMA_VERSION, AnyEvent, Event, Header, Summary

__all__ = [
    "SCHEMA_VERSION",
    "AnyEvent",
    "EpisodeLog",
    "EpisodeWriter",
    "Event",
    "Header",
    "Summary",
    "TornLogWarning",
    "find_logs",
    "find_summaries",
    "iter_logs",
    "read_log",
    "summary_path",
    "write_atomic",
    "write_summary",
]

"""Episode-log schema, writer and reader: the ground floor every other part may use."""

from alignsim.record.io import (
    BadFiles,
    EpisodeLog,
    EpisodeWriter,
    TornLogWarning,
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
from alignsim.record.schema import SCHEMA_VERSION, AnyEvent, Event, Header, Summary

__all__ = [
    "SCHEMA_VERSION",
    "AnyEvent",
    "BadFiles",
    "EpisodeLog",
    "EpisodeWriter",
    "Event",
    "Header",
    "Summary",
    "TornLogWarning",
    "find_logs",
    "find_summaries",
    "iter_logs",
    "read_each",
    "read_log",
    "read_summary",
    "summary_path",
    "write_atomic",
    "write_summary",
]

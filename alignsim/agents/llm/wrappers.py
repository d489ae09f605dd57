"""Backends that wrap backends, with the same interface: cache, replay, retry.

They stack: ``RetryBackend(CachedBackend(real, path))`` retries failed requests and
answers repeated ones from SQLite.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from alignsim.agents.llm.types import Backend, LLMRequest, LLMResponse, SamplingParams
from alignsim.errors import AlignsimError

_encode = msgspec.msgpack.Encoder().encode
_decode_response = msgspec.msgpack.Decoder(LLMResponse).decode


def request_key(model_id: str, request: LLMRequest) -> str:
    """Cache key: the model and everything about the request that can change its answer."""
    return hashlib.blake2b(model_id.encode() + b"\0" + request.key(), digest_size=20).hexdigest()


class CachedBackend:
    """Answers a request seen before (same model, messages, params, seed, choices) from SQLite.

    Safe to share between processes (SQLite WAL); only new requests reach the inner backend,
    in one batch. ``hits`` and ``misses`` count the requests answered each way.

    Args:
        inner: the backend that answers requests not in the cache.
        path: the SQLite file (created with its folder if missing).
    """

    def __init__(self, inner: Backend, path: str | Path) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.info = getattr(inner, "info", {})
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, response BLOB NOT NULL)")
        self._db.commit()
        self.hits = 0
        self.misses = 0

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Answer cached requests from the database and send the rest to the inner backend in one batch."""
        keys = [request_key(self.model_id, r) for r in requests]
        out: list[LLMResponse | None] = [None] * len(requests)
        with self._lock:
            for i, key in enumerate(keys):
                row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    out[i] = msgspec.structs.replace(_decode_response(row[0]), cached=True)
        missing = [i for i, r in enumerate(out) if r is None]
        self.hits += len(requests) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.generate([requests[i] for i in missing])
            with self._lock:
                for i, response in zip(missing, fresh, strict=True):
                    out[i] = response
                    if response.error is None:
                        self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)", (keys[i], _encode(response)))
                self._db.commit()
        return [r for r in out if r is not None]

    def close(self) -> None:
        """Close the database and the inner backend."""
        self._db.close()
        self.inner.close()


class ReplayBackend:
    """Serves responses recorded in episode logs' ``llm_call`` events; needs no model.

    A request that was never recorded is an error (the run has diverged from the recording).

    Args:
        calls: the recorded ``llm_call`` events; identical requests are answered in recorded order.
        model_id: the model id to report; default the one model of the calls, if they name only one.
    """

    def __init__(self, calls: Iterable[Any], model_id: str | None = None) -> None:
        self._responses: dict[bytes, list[LLMResponse]] = {}
        models = set()
        for call in calls:
            request = request_from_call(call)
            self._responses.setdefault(request.key(), []).append(response_from_call(call))
            models.add(call.model)
        self.model_id = model_id or (models.pop() if len(models) == 1 else "replay/recorded")
        self.info = {"replay": True}

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """The recorded responses of ``requests``, in recorded order for repeated requests.

        Raises:
            AlignsimError: a request was never recorded (the re-run diverged from the log).
        """
        out = []
        for request in requests:
            queue = self._responses.get(request.key())
            if not queue:
                raise AlignsimError("replay: a request was never recorded (the re-run diverged from the log)")
            out.append(queue.pop(0))
        return out

    def close(self) -> None:
        """Nothing to release."""
        pass


def request_from_call(call: Any) -> LLMRequest:
    """Rebuild the request an ``llm_call`` event recorded."""
    params = dict(call.params)
    params["stop"] = tuple(params.get("stop", ()))
    return LLMRequest(
        messages=tuple(call.messages),
        params=SamplingParams(**params),
        choices=tuple(call.choices) if call.choices is not None else None,
        json_schema=call.json_schema,
        prefill=call.prefill,
        tag=call.tag,
    )


def response_from_call(call: Any) -> LLMResponse:
    """The :class:`LLMResponse` an ``llm_call`` event recorded."""
    return LLMResponse(
        text=call.raw_output,
        choice=call.choice,
        scores=tuple(call.scores) if call.scores is not None else None,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        latency_s=call.latency_s,
        finish_reason=call.finish_reason,
        error=call.error,
        cached=call.cached,
    )


class RetryBackend:
    """Re-sends requests whose response carries an ``error`` (transport failures), with back-off.

    Every failed attempt's reason is kept in ``retry_log``; a request still failing after
    ``attempts`` tries is returned with its error, for the agent's fallback to handle.
    Retries re-roll only failures, never valid-but-unwelcome outputs (that would bias results).

    Args:
        inner: the backend whose failures are retried.
        attempts: tries in all, the first included.
        backoff_s: wait before the first retry; it doubles before each further one.
    """

    def __init__(self, inner: Backend, attempts: int = 3, backoff_s: float = 0.5) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.info = getattr(inner, "info", {})
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.retry_log: list[str] = []

    def generate(self, requests: list[LLMRequest]) -> list[LLMResponse]:
        """Answer ``requests``, re-sending only the failed ones, with exponential back-off."""
        out = list(self.inner.generate(requests))
        for attempt in range(1, self.attempts):
            failed = [i for i, r in enumerate(out) if r.error is not None]
            if not failed:
                break
            self.retry_log.extend(f"attempt {attempt}: {out[i].error}" for i in failed)
            time.sleep(self.backoff_s * 2 ** (attempt - 1))
            for i, response in zip(failed, self.inner.generate([requests[i] for i in failed]), strict=True):
                out[i] = response
        return out

    def close(self) -> None:
        """Close the inner backend."""
        self.inner.close()

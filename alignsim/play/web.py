"""The browser interface of human seats: a play page per seat, served on 127.0.0.1.

Each human seat gets a random token; its page is ``http://127.0.0.1:PORT/play/<token>``, and
every other path (any path without a seat's token) is a 404. The page (styled by the viewer's
``page.css``, driven by ``play.js``; textContent only, a Content-Security-Policy that allows
only the server's own script) polls ``state`` and shows the consent text, then each question
the seat is asked: what the seat observed (its prompt, built by the game's LLM adapter from
the seat's own observations, the env having kept every event to those in its ``visible_to``),
a menu of the legal choices or a text box. Answers come back by ``POST answer``.

While the other players act, the page's side panel follows the game: ``live`` reads the
episode log as it is written and sends the lines of the events the seat observed, filtered
here on the server with the viewers' entitlement rule
(:func:`alignsim.analysis.transcript.entitled` with ``agent=``: the event's ``visible_to``
holds the seat). Nothing else from the log is ever sent; questions carry only the seat's
own prompt. Requests whose ``Host`` is not the address served are refused (a page on
another site cannot reach the server through a rebound DNS name).
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import time
import warnings
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from alignsim.play.policy import Answer, Question

__all__ = ["WebInterface"]

_MAX_BODY = 64 * 1024

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>alignsim: play</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{base}/page.css">
<script src="{base}/play.js" defer></script></head>
<body class="play"><header class="top"><h1 id="title">alignsim</h1>
<div class="meta"><span id="seat"></span><span id="status">connecting...</span><span id="clock"></span></div></header>
<main class="play"><section id="view"></section><aside id="side"></aside></main>
<noscript>This page needs JavaScript.</noscript></body></html>
"""

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_PLAY_CSS = """
main.play { display:grid; grid-template-columns:minmax(0,1fr) 340px; gap:16px; padding:16px 20px; }
.msg { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 12px; margin-bottom:8px;
  white-space:pre-wrap; overflow-wrap:anywhere; }
details.msg summary { cursor:pointer; font-weight:600; }
.line { padding:2px 0; border-bottom:1px dotted var(--line); }
.question { font-weight:600; margin:10px 0 6px; }
.problem { color:var(--lie); margin:6px 0; }
.choices button { display:block; width:100%; text-align:left; font:inherit; padding:6px 10px; margin:4px 0; }
#answer-text { width:100%; font:inherit; padding:6px; }
.live { max-height:70vh; overflow:auto; font-size:13px; white-space:normal; }
.over { border:2px solid var(--accent); border-radius:6px; padding:10px; background:#efecf7; font-weight:600; }
"""


class _Seat:
    """One human seat as the server knows it."""

    def __init__(self, agent: str, label: str) -> None:
        self.agent, self.label = agent, label
        self.token = secrets.token_urlsafe(18)
        self.consented = False
        self.question: Question | None = None
        self.posed_at = 0.0
        self.shown_at: float | None = None
        self.answer: Answer | None = None
        self.status = "consent"
        self.note = ""
        self.transcript: list[str] = []
        self.ending = ""
        self.saw_end = False
        self.version = 1


class WebInterface:
    """Human seats played in browsers: one page and token per seat (see the module docstring).

    Args:
        seats: ``(agent, label)`` of each human seat.
        consent: the text each person agrees to before the game starts.
        host, port: where to listen (port 0: a free one).
    """

    poll_ms = 400
    """How often a page asks for news (the response time includes up to this much of it)."""

    def __init__(self, seats: list[tuple[str, str]], consent: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.consent_text = consent
        self._seats = {agent: _Seat(agent, label) for agent, label in seats}
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        address = self.server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self.log_path: Path | None = None
        """The episode log being written (set by ``play``): the source of each seat's live view."""
        self._live_lock = threading.Lock()
        self._live: dict[str, tuple[Any, list[str]]] = {}
        self._thread = threading.Thread(target=self.server.serve_forever, name="alignsim-play", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ for the game

    def urls(self) -> dict[str, str]:
        """Each seat's page."""
        return {a: f"http://{self.host}:{self.port}/play/{s.token}" for a, s in self._seats.items()}

    def wait_for_consent(self) -> None:
        """Block until every seat's person has agreed on their page."""
        with self._changed:
            self._changed.wait_for(lambda: all(s.consented for s in self._seats.values()))

    def join(self, agent: str, label: str) -> None:
        """The seat was opened when the server was made; nothing to do."""

    def ask(self, question: Question) -> Answer | None:
        """Put ``question`` on the seat's page and wait for the answer (or its time limit)."""
        seat = self._seats[question.agent]
        with self._changed:
            seat.question, seat.answer, seat.shown_at = question, None, None
            seat.posed_at = time.monotonic()
            seat.status, seat.note = "question", ""
            seat.version += 1
            self._changed.wait_for(lambda: seat.answer is not None, timeout=question.timeout_s)
            answer = seat.answer
            seat.question, seat.answer = None, None
            seat.status = "waiting"
            seat.note = "" if answer is not None else "Time was up: the game used the default answer."
            seat.version += 1
            return answer

    def finish(self, agent: str, transcript: list[str], ending: str) -> None:
        """Show the seat its whole transcript and the end of the game."""
        seat = self._seats[agent]
        with self._changed:
            seat.transcript, seat.ending, seat.status = transcript, ending, "over"
            seat.version += 1

    def wait_until_seen(self, timeout_s: float) -> bool:
        """Wait until every page has shown the end of the game (at most ``timeout_s``)."""
        with self._changed:
            return self._changed.wait_for(lambda: all(s.saw_end for s in self._seats.values()), timeout=timeout_s)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------ for the server

    def seat_of(self, token: str) -> _Seat | None:
        """The seat whose token this is (compared in constant time)."""
        found = None
        for seat in self._seats.values():
            if hmac.compare_digest(seat.token.encode(), token.encode()):
                found = seat
        return found

    def state(self, seat: _Seat, known: int | None) -> dict[str, Any]:
        """What the seat's page is shown now: only this seat's question or transcript."""
        with self._changed:
            if known == seat.version:
                return {"version": seat.version}
            out: dict[str, Any] = {
                "version": seat.version,
                "status": seat.status,
                "agent": seat.agent,
                "label": seat.label,
                "note": seat.note,
                "poll_ms": self.poll_ms,
            }
            if seat.status == "consent":
                out["consent"] = self.consent_text
            elif seat.status == "question" and seat.question is not None:
                if seat.shown_at is None:
                    seat.shown_at = time.monotonic()
                out["question"] = asdict(seat.question)
            elif seat.status == "over":
                out["transcript"] = seat.transcript
                out["ending"] = seat.ending
                seat.saw_end = True
                self._changed.notify_all()
            return out

    def live(self, seat: _Seat) -> list[str]:
        """The transcript lines of every event logged so far that the seat observed (``visible_to``
        holds it), rendered as ``alignsim view LOG --agent SEAT`` renders them, less its heading."""
        from alignsim.analysis.transcript import transcript
        from alignsim.errors import LogFormatError
        from alignsim.record import read_log

        path = self.log_path
        if path is None or not path.exists():
            return []
        stat = os.stat(path)
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self._live_lock:
            hit = self._live.get(seat.agent)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the last line may be mid-write: it is dropped
                    log = read_log(path)
            except LogFormatError:
                return hit[1] if hit is not None else []
            text = transcript(log, agent=seat.agent).split("\n")
            start = next((i for i, line in enumerate(text) if line.startswith("==")), len(text))
            lines = [line for line in text[start:] if line.strip()]
            self._live[seat.agent] = (stamp, lines)
            return lines

    def agree(self, seat: _Seat) -> None:
        """The seat's person agreed to the consent text."""
        with self._changed:
            if not seat.consented:
                seat.consented = True
                seat.status = "waiting"
                seat.version += 1
                self._changed.notify_all()

    def give(self, seat: _Seat, body: dict[str, Any]) -> tuple[int, str]:
        """Take an answer to the seat's current question; ``(HTTP status, message)``."""
        with self._changed:
            question = seat.question
            if question is None or body.get("id") != question.id or seat.answer is not None:
                return HTTPStatus.CONFLICT, "no such question open (answered already or timed out)"
            start = seat.shown_at if seat.shown_at is not None else seat.posed_at
            took = time.monotonic() - start
            if question.choices is not None:
                choice = body.get("choice")
                if not isinstance(choice, int) or isinstance(choice, bool) or not 0 <= choice < len(question.choices):
                    return HTTPStatus.BAD_REQUEST, "choice must be the index of an option"
                seat.answer = Answer(choice=choice, response_s=took)
            else:
                text = body.get("text")
                if not isinstance(text, str):
                    return HTTPStatus.BAD_REQUEST, "text must be a string"
                seat.answer = Answer(text=text, response_s=took)
            self._changed.notify_all()
            return HTTPStatus.OK, "ok"


def _asset(name: str) -> bytes:
    return resources.files("alignsim.viewer").joinpath("assets", name).read_bytes()


def _handler(interface: WebInterface) -> type[BaseHTTPRequestHandler]:
    css = _asset("page.css") + _PLAY_CSS.encode()
    script = _asset("play.js")

    class Handler(BaseHTTPRequestHandler):
        server_version = "alignsim-play"
        timeout = 30

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", _CSP)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _route(self) -> tuple[_Seat, str] | None:
            """The seat and the rest of the path, or None (then a 404 was sent)."""
            host = self.headers.get("Host", "")
            port = f":{interface.port}"
            named = host in {f"{name}{port}" for name in (interface.host, "127.0.0.1", "localhost")}
            # Bound to every interface (--host 0.0.0.0), the machine's own addresses are not known here.
            anywhere = interface.host in ("0.0.0.0", "::") and host.endswith(port)
            if not (named or anywhere):
                self._send(HTTPStatus.MISDIRECTED_REQUEST, b"wrong host\n", "text/plain; charset=utf-8")
                return None
            parts = urlsplit(self.path).path.split("/")
            seat = interface.seat_of(parts[2]) if len(parts) >= 3 and parts[1] == "play" else None
            if seat is None:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
                return None
            return seat, "/".join(parts[3:])

        def do_GET(self) -> None:
            routed = self._route()
            if routed is None:
                return
            seat, rest = routed
            base = f"/play/{seat.token}"
            if rest == "":
                self._send(HTTPStatus.OK, _PAGE.format(base=base).encode(), "text/html; charset=utf-8")
            elif rest == "page.css":
                self._send(HTTPStatus.OK, css, "text/css; charset=utf-8")
            elif rest == "play.js":
                self._send(HTTPStatus.OK, script, "text/javascript; charset=utf-8")
            elif rest == "live":
                query = parse_qs(urlsplit(self.path).query)
                try:
                    after = max(0, int(query["after"][0])) if "after" in query else 0
                except ValueError:
                    after = 0
                lines = interface.live(seat) if seat.consented else []
                self._json(HTTPStatus.OK, {"total": len(lines), "lines": lines[after:]})
            elif rest == "state":
                query = parse_qs(urlsplit(self.path).query)
                try:
                    known = int(query["v"][0]) if "v" in query else None
                except ValueError:
                    known = None
                self._json(HTTPStatus.OK, interface.state(seat, known))
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

        def do_POST(self) -> None:
            routed = self._route()
            if routed is None:
                return
            seat, rest = routed
            if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send application/json"})
                return
            try:
                size = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                size = -1
            if not 0 <= size <= _MAX_BODY:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "bad body size"})
                return
            try:
                body = json.loads(self.rfile.read(size) or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._json(HTTPStatus.BAD_REQUEST, {"error": "the body must be a JSON object"})
                return
            if rest == "consent":
                interface.agree(seat)
                self._json(HTTPStatus.OK, {"ok": True})
            elif rest == "answer":
                status, message = interface.give(seat, body)
                self._json(status, {"ok": status == HTTPStatus.OK, "message": message})
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    return Handler

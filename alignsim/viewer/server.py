"""A local, read-only web server over a folder of episode logs.

``GET /`` lists the episodes under the folder; ``GET /episode/<path>`` renders the page of
the log at ``<path>`` (relative to the folder) on demand; ``GET /raw/<path>`` returns a file
as it is. Pages are public (what every player saw, :func:`~alignsim.viewer.render_page`) unless
the server was made with ``private=True``; a public server answers ``/raw/`` with 403, since a
raw log or summary holds everything. Only GET and HEAD are answered. Every path is decoded, resolved (symbolic links
followed) and must stay inside the folder and name an existing file; anything else, ``..``
in any encoding and links pointing out of the folder included, is a 404. The server binds
to 127.0.0.1 unless told otherwise.

Connections cost no thread while they wait: one watcher thread reads every connection's
request (a GET has no body, so the request is its header block) without blocking, and only
a complete request is handed to a small pool of worker threads, which answer it. A
connection that has not sent a complete request within ``idle_timeout`` seconds is closed,
and at most ``max_pending`` connections wait at once (the oldest is dropped first), so idle
or half-open connections can neither exhaust threads nor keep the server from answering.
The index lists the files it could not read (each with its reason) and their count.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import selectors
import socket
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from alignsim.errors import LogFormatError
from alignsim.limits import read_limits
from alignsim.record import summary_path
from alignsim.record.io import LOG_SUFFIX, SUMMARY_SUFFIX, find_logs, read_file, read_header, read_summary
from alignsim.viewer.html import render_page

__all__ = ["ViewerServer", "make_server", "serve"]

_RAW_TYPES = {".jsonl": "application/x-ndjson", ".json": "application/json", ".html": "text/html; charset=utf-8"}


class _Pages:
    """Rendered pages (public, or every event with ``private``), kept while the log file is
    unchanged (size and modification time)."""

    def __init__(self, private: bool = False) -> None:
        self._private = private
        self._lock = threading.Lock()
        self._pages: dict[Path, tuple[tuple[int, int], bytes]] = {}

    def get(self, path: Path) -> bytes:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            hit = self._pages.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        page = render_page(path, private=self._private).encode("utf-8")
        with self._lock:
            self._pages[path] = (stamp, page)
        return page


class _Checks:
    """Whether each log's header (and its summary) can be read, kept while the files are unchanged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple[Any, tuple[dict[str, Any], list[str], bool]]] = {}

    @staticmethod
    def _stamp(path: Path) -> Any:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mode, st.st_size, st.st_mtime_ns)

    def check(self, log: Path) -> tuple[dict[str, Any], list[str], bool]:
        """The summary's fields for the index (empty without a readable one), the problems
        found (one line each, naming the file), and whether the log itself can be read."""
        summary = summary_path(log)
        stamp = (self._stamp(log), self._stamp(summary) if os.path.lexists(summary) else "absent")
        with self._lock:
            hit = self._seen.get(log)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        problems = []
        info: dict[str, Any] = {}
        readable = True
        try:
            read_header(log)
        except LogFormatError as exc:
            problems.append(str(exc))
            readable = False
        if readable and stamp[1] != "absent":
            try:
                done = read_summary(summary)
                info = {k: getattr(done, k) for k in _INDEX_FIELDS}
            except LogFormatError as exc:
                problems.append(str(exc))
        result = (info, problems, readable)
        with self._lock:
            self._seen[log] = (stamp, result)
        return result


_INDEX_FIELDS = ("scenario", "seed", "status", "winner", "rounds", "steps")


def _index(root: Path, checks: _Checks | None = None, private: bool = False) -> bytes:
    checks = checks or _Checks()
    rows = []
    unreadable: list[str] = []
    for log in find_logs(root):
        rel = log.relative_to(root).as_posix()
        info, problems, readable = checks.check(log)
        unreadable += problems
        if not readable:
            continue  # listed below with its reason, not linked
        cells = [
            f'<a href="/episode/{quote(rel)}">{html.escape(rel)}</a>',
            *(html.escape(str(info.get(k, ""))) for k in _INDEX_FIELDS),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("log", "scenario", "seed", "status", "winner", "rounds", "actions"))
    body = "\n".join(rows) or '<tr><td colspan="7">no episode logs here</td></tr>'
    skipped = ""
    if unreadable:
        root_prefix = f"{root}{os.sep}"
        items = "".join(f"<li>{html.escape(m.removeprefix(root_prefix))}</li>" for m in unreadable)
        skipped = f'<h2 id="unreadable">{len(unreadable)} file(s) could not be read</h2><ul>{items}</ul>'
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>alignsim episodes</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{{font:14px system-ui,sans-serif;margin:20px}}table{{border-collapse:collapse}}
td,th{{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><h1>Episodes in {html.escape(root.name or str(root))}</h1>
<p>{_PRIVATE_NOTE if private else _PUBLIC_NOTE}</p>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table>{skipped}</body></html>
"""
    return page.encode("utf-8")


_PUBLIC_NOTE = "Public pages: only what every player saw (serve with --private for everything)."
_PRIVATE_NOTE = (
    "<b>Private view</b>: these pages and raw files contain hidden information (roles, private "
    "channels, reasoning, model prompts). Do not share them with players."
)


def _handler(root: Path, request_timeout: float, private: bool = False) -> type[BaseHTTPRequestHandler]:
    pages = _Pages(private)
    checks = _Checks()

    class Handler(BaseHTTPRequestHandler):
        server_version = "alignsim-view"
        # Socket timeout while answering: a client that stops reading cannot hold a worker.
        timeout = request_timeout

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _inside(self, rel: str) -> Path | None:
            """The file ``rel`` names under the root, or None if it is not a file inside it."""
            rel = unquote(rel)
            if "\x00" in rel or rel.startswith("/"):
                return None
            try:
                path = (root / rel).resolve(strict=True)
            except (OSError, RuntimeError):
                return None
            if not path.is_relative_to(root) or not path.is_file():
                return None
            return path

        def _send(self, status: int, body: bytes, content_type: str, head: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _not_found(self, head: bool) -> None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)

        def _serve(self, head: bool) -> None:
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, _index(root, checks, private), "text/html; charset=utf-8", head)
                return
            route, _, rel = path.lstrip("/").partition("/")
            target = self._inside(rel) if rel else None
            if target is None:
                self._not_found(head)
                return
            if route == "episode" and target.name.endswith(LOG_SUFFIX):
                try:
                    body = pages.get(target)
                except Exception as exc:  # a broken log: say so instead of dropping the connection
                    message = f"cannot render {rel}: {type(exc).__name__}: {exc}\n"
                    self._send(HTTPStatus.UNPROCESSABLE_ENTITY, message.encode(), "text/plain; charset=utf-8", head)
                    return
                self._send(HTTPStatus.OK, body, "text/html; charset=utf-8", head)
            elif route == "raw" and not private:
                refusal = b"raw files hold hidden information: serve with --private to read them\n"
                self._send(HTTPStatus.FORBIDDEN, refusal, "text/plain; charset=utf-8", head)
            elif route == "raw":
                kind = (
                    _RAW_TYPES[".json"] if target.name.endswith(SUMMARY_SUFFIX) else _RAW_TYPES.get(target.suffix)
                ) or "text/plain; charset=utf-8"
                try:
                    data = read_file(target, read_limits().max_log_bytes)
                except LogFormatError as exc:
                    message = f"cannot read {rel}: {str(exc).removeprefix(str(target) + ': ')}\n"
                    self._send(HTTPStatus.UNPROCESSABLE_ENTITY, message.encode(), "text/plain; charset=utf-8", head)
                    return
                self._send(HTTPStatus.OK, data, kind, head)
            else:
                self._not_found(head)

        def do_GET(self) -> None:
            self._serve(head=False)

        def do_HEAD(self) -> None:
            self._serve(head=True)

    return Handler


class _Waiting:
    """A connection whose request is still arriving."""

    __slots__ = ("address", "data", "deadline", "sock")

    def __init__(self, sock: socket.socket, address: Any, deadline: float) -> None:
        self.sock, self.address, self.deadline = sock, address, deadline
        self.data = b""


class _Received:
    """A connection whose request has been read: the handler reads the request from memory
    and writes its answer to the socket."""

    def __init__(self, sock: socket.socket, data: bytes) -> None:
        self._sock, self._data = sock, data

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> Any:
        if "r" in mode:
            return io.BytesIO(self._data)
        return self._sock.makefile(mode, *args, **kwargs)  # type: ignore[call-overload]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


_MAX_REQUEST_BYTES = 64 * 1024
"""Longest request (line and headers) read; a GET needs far less."""


class ViewerServer(HTTPServer):
    """An HTTP server whose waiting connections hold no thread (see the module docstring).

    Accepting is cheap (a connection only joins the watcher's list), so the listen backlog
    is larger than socketserver's 5: a burst of connections is accepted, not refused.

    Args:
        address: ``(host, port)`` to listen on.
        handler: the request handler class, as for :class:`http.server.HTTPServer`.
        workers: threads answering complete requests.
        idle_timeout: seconds a connection may take to send its whole request; also the
            socket timeout while an answer is sent.
        max_pending: connections waiting for their request at once; beyond it the
            oldest is closed.
    """

    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        workers: int = 8,
        idle_timeout: float = 10.0,
        max_pending: int = 256,
    ) -> None:
        super().__init__(address, handler)
        self.idle_timeout = idle_timeout
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alignsim-view")
        self._selector = selectors.DefaultSelector()
        self._arrived: list[tuple[socket.socket, Any]] = []
        self._arrived_lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._stopping = False
        self._watcher = threading.Thread(target=self._watch, name="alignsim-view-watcher", daemon=True)
        self._watcher.start()

    # ------------------------------------------------------------ socketserver hooks

    def process_request(self, request: Any, client_address: Any) -> None:
        """Called for each accepted connection: hand it to the watcher (no thread is started)."""
        with self._arrived_lock:
            self._arrived.append((request, client_address))
        self._wake()

    def server_close(self) -> None:
        """Close the listening socket, stop the watcher thread and the workers, and close the wake pipe."""
        super().server_close()
        self._stopping = True
        self._wake()
        self._watcher.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._wake_read.close()
        self._wake_write.close()

    # ------------------------------------------------------------ internals

    def _wake(self) -> None:
        # OSError: the wake-up socket is full (a wake-up is already pending) or closed.
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    def _drop(self, waiting: _Waiting) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(waiting.sock)
        self.shutdown_request(waiting.sock)

    def _answer(self, sock: socket.socket, address: Any, data: bytes) -> None:
        try:
            sock.settimeout(self.idle_timeout)
            self.finish_request(_Received(sock, data), address)  # type: ignore[arg-type]
        except Exception:
            self.handle_error(sock, address)
        finally:
            self.shutdown_request(sock)

    def _watch(self) -> None:
        waiting: OrderedDict[int, _Waiting] = OrderedDict()
        while not self._stopping:
            now = time.monotonic()
            timeout = max(0.0, min(w.deadline for w in waiting.values()) - now) if waiting else None
            for key, _ in self._selector.select(timeout):
                if key.data is None:  # woken up: new connections, or stopping
                    with contextlib.suppress(OSError):
                        while self._wake_read.recv(4096):
                            pass
                    continue
                conn: _Waiting = key.data
                try:
                    chunk = conn.sock.recv(_MAX_REQUEST_BYTES)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if not chunk or len(conn.data) + len(chunk) > _MAX_REQUEST_BYTES:
                    waiting.pop(id(conn), None)
                    self._drop(conn)
                    continue
                conn.data += chunk
                if b"\r\n\r\n" in conn.data or b"\n\n" in conn.data:
                    waiting.pop(id(conn), None)
                    self._selector.unregister(conn.sock)
                    self._pool.submit(self._answer, conn.sock, conn.address, conn.data)
            with self._arrived_lock:
                arrived, self._arrived = self._arrived, []
            deadline = time.monotonic() + self.idle_timeout
            for sock, address in arrived:
                conn = _Waiting(sock, address, deadline)
                sock.setblocking(False)
                self._selector.register(sock, selectors.EVENT_READ, conn)
                waiting[id(conn)] = conn
                while len(waiting) > self.max_pending:
                    self._drop(waiting.popitem(last=False)[1])
            now = time.monotonic()
            for expired in [k for k, w in waiting.items() if w.deadline <= now]:
                self._drop(waiting.pop(expired))
        for conn in waiting.values():
            self._drop(conn)
        with self._arrived_lock:
            for sock, _ in self._arrived:
                self.shutdown_request(sock)
            self._arrived = []
        self._selector.close()


def make_server(
    root: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    workers: int = 8,
    idle_timeout: float = 10.0,
    max_pending: int = 256,
    private: bool = False,
) -> ViewerServer:
    """A server over ``root`` (not yet serving; call ``serve_forever``). Port 0 picks a free one.

    Pages are public (what every player saw) and ``/raw/`` is refused, unless ``private``:
    then pages hold everything and raw files are served.

    ``workers`` threads answer requests; a connection must send its request within
    ``idle_timeout`` seconds; at most ``max_pending`` connections wait at once.
    """
    folder = Path(root).resolve(strict=True)
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    return ViewerServer(
        (host, port),
        _handler(folder, idle_timeout, private),
        workers=workers,
        idle_timeout=idle_timeout,
        max_pending=max_pending,
    )


def serve(root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8765, *, private: bool = False) -> None:
    """Serve ``root`` until interrupted (public pages unless ``private``; see :func:`make_server`)."""
    server = make_server(root, host, port, private=private)
    address, bound = server.server_address[:2]
    view = "private pages: hidden information included" if private else "public pages"
    where = f"http://{address!s}:{bound}/"
    print(f"serving episodes in {Path(root).resolve()} at {where} ({view}; read-only; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

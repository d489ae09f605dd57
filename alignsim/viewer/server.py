"""A local, read-only web server over a folder of episode logs.

``GET /`` lists the episodes under the folder; ``GET /episode/<path>`` renders the page of
the log at ``<path>`` (relative to the folder) on demand; ``GET /raw/<path>`` returns a file
as it is. Only GET and HEAD are answered. Every path is decoded, resolved (symbolic links
followed) and must stay inside the folder and name an existing file; anything else, ``..``
in any encoding and links pointing out of the folder included, is a 404. The server binds
to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import html
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import msgspec

from alignsim.record import find_logs, summary_path
from alignsim.record.io import LOG_SUFFIX, SUMMARY_SUFFIX
from alignsim.viewer.html import render_page

__all__ = ["make_server", "serve"]

_RAW_TYPES = {".jsonl": "application/x-ndjson", ".json": "application/json", ".html": "text/html; charset=utf-8"}


class _Pages:
    """Rendered pages, kept while the log file is unchanged (size and modification time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[Path, tuple[tuple[int, int], bytes]] = {}

    def get(self, path: Path) -> bytes:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            hit = self._pages.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        page = render_page(path).encode("utf-8")
        with self._lock:
            self._pages[path] = (stamp, page)
        return page


def _index(root: Path) -> bytes:
    rows = []
    for log in find_logs(root):
        rel = log.relative_to(root).as_posix()
        info: dict[str, Any] = {}
        summary = summary_path(log)
        if summary.exists():
            try:
                info = msgspec.json.decode(summary.read_bytes())
            except msgspec.DecodeError:
                info = {}
        cells = [
            f'<a href="/episode/{quote(rel)}">{html.escape(rel)}</a>',
            *(html.escape(str(info.get(k, ""))) for k in ("scenario", "seed", "status", "winner", "rounds", "steps")),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("log", "scenario", "seed", "status", "winner", "rounds", "actions"))
    body = "\n".join(rows) or '<tr><td colspan="7">no episode logs here</td></tr>'
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>alignsim episodes</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{{font:14px system-ui,sans-serif;margin:20px}}table{{border-collapse:collapse}}
td,th{{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><h1>Episodes in {html.escape(root.name or str(root))}</h1>
<table><thead><tr>{head}</tr></thead><tbody>
{body}
</tbody></table></body></html>
"""
    return page.encode("utf-8")


def _handler(root: Path) -> type[BaseHTTPRequestHandler]:
    pages = _Pages()

    class Handler(BaseHTTPRequestHandler):
        server_version = "alignsim-view"

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
                self._send(HTTPStatus.OK, _index(root), "text/html; charset=utf-8", head)
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
            elif route == "raw":
                kind = (
                    _RAW_TYPES[".json"] if target.name.endswith(SUMMARY_SUFFIX) else _RAW_TYPES.get(target.suffix)
                ) or "text/plain; charset=utf-8"
                self._send(HTTPStatus.OK, target.read_bytes(), kind, head)
            else:
                self._not_found(head)

        def do_GET(self) -> None:
            self._serve(head=False)

        def do_HEAD(self) -> None:
            self._serve(head=True)

    return Handler


def make_server(root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A server over ``root`` (not yet serving; call ``serve_forever``). Port 0 picks a free one."""
    folder = Path(root).resolve(strict=True)
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    server = ThreadingHTTPServer((host, port), _handler(folder))
    server.daemon_threads = True
    return server


def serve(root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve ``root`` until interrupted."""
    server = make_server(root, host, port)
    address, bound = server.server_address[:2]
    print(f"serving episodes in {Path(root).resolve()} at http://{address!s}:{bound}/ (read-only; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

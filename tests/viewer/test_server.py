"""The read-only episode server: index, pages on demand, and nothing outside its folder."""

from __future__ import annotations

import http.client
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignsim.viewer import make_server


@pytest.fixture
def served(classic_log: Path, tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    root = tmp_path / "root"
    (root / "run" / "episodes").mkdir(parents=True)
    log = root / "run" / "episodes" / classic_log.name
    shutil.copy(classic_log, log)
    shutil.copy(classic_log.with_name(classic_log.name.replace(".jsonl", ".summary.json")), log.parent)
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the served folder")
    os.symlink(secret, root / "run" / "leak.txt")
    os.symlink(tmp_path, root / "up")
    server = make_server(root, port=0, private=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield str(host), int(port), log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _get(host: str, port: int, path: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        # putrequest sends the path byte for byte: no client-side normalisation of "..".
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def test_binds_to_localhost_by_default(served):
    host, _, _ = served
    assert host == "127.0.0.1"


def test_index_and_pages(served):
    host, port, log = served
    status, body, headers = _get(host, port, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    rel = f"run/episodes/{log.name}"
    assert f'href="/episode/{rel}"'.encode() in body and b"traitors/classic-v0" in body
    status, page, _ = _get(host, port, f"/episode/{rel}")
    assert status == 200 and page.startswith(b"<!DOCTYPE html>") and b"episode-data" in page
    status, raw, _ = _get(host, port, f"/raw/{rel}")
    assert status == 200 and raw == log.read_bytes()
    status, body, headers = _get(host, port, f"/episode/{rel}", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) == len(page)


@pytest.mark.parametrize(
    "path",
    [
        "/raw/../secret.txt",
        "/raw/run/../../secret.txt",
        "/raw/%2e%2e/secret.txt",
        "/raw/run/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/raw/%252e%252e/secret.txt",
        "/raw//etc/passwd",
        "/raw/%2Fetc%2Fpasswd",
        "/raw/run/leak.txt",
        "/raw/up/secret.txt",
        "/episode/up/secret.txt",
        "/raw/run/episodes",
        "/raw/missing.jsonl",
        "/raw/run%00/x",
        "/elsewhere/run/leak.txt",
    ],
)
def test_nothing_outside_the_folder_is_served(served, path: str):
    host, port, _ = served
    status, body, _ = _get(host, port, path)
    assert status == 404
    assert b"outside the served folder" not in body


def test_read_only(served):
    host, port, log = served
    for method in ("POST", "PUT", "DELETE"):
        status, _, _ = _get(host, port, f"/raw/run/episodes/{log.name}", method=method)
        assert status == 501
    assert log.exists()


def test_a_public_server_serves_public_pages_and_no_raw_file(served):
    """Without ``private`` the pages hold only what every player saw, and raw logs are refused."""
    _, _, log = served
    root = log.parents[2]
    server = make_server(root, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        rel = f"run/episodes/{log.name}"
        status, index, _ = _get(str(host), int(port), "/")
        assert status == 200 and b"Public pages" in index
        status, page, _ = _get(str(host), int(port), f"/episode/{rel}")
        assert status == 200 and b'"kind":"public"' in page
        assert b'"type":"role_assignment"' not in page and b'"type":"reasoning"' not in page
        for path in (rel, rel.replace(".jsonl", ".summary.json")):
            status, body, _ = _get(str(host), int(port), f"/raw/{path}")
            assert status == 403 and b"--private" in body
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    # The private server's page holds them (positive control).
    host, port, _ = served
    _, page, _ = _get(host, port, f"/episode/run/episodes/{log.name}")
    assert b'"type":"role_assignment"' in page and b"PRIVATE VIEW" in page

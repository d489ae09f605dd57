"""Episode viewer in the browser: a self-contained HTML page per episode
(:func:`render_page`, ``alignsim view LOG --html OUT``) and a local read-only server over a
folder of logs (:func:`serve`, ``alignsim view DIR --serve``)."""

from __future__ import annotations

from alignsim.viewer.html import page_data, render_page, write_page
from alignsim.viewer.server import make_server, serve

__all__ = ["make_server", "page_data", "render_page", "serve", "write_page"]

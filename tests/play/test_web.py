"""The browser play page (``alignsim play --web``), driven by Playwright in Debian's Chromium.

A person plays a full mini Traitors game as a faithful seat through the page, against scripted
players whose hidden channels carry canaries. Every response the server sent the browser is
recorded (through a route that fetches it), and none may hold a canary, a night vote, another
player's briefing, a meeting message or the role deal. Skips without playwright or chromium.
"""

from __future__ import annotations

import json
import queue
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from alignsim.analysis.transcript import entitled
from alignsim.play import play
from alignsim.play.web import WebInterface
from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.replay import replay
from alignsim.viewer import render_page
from tests.play.conftest import CANARIES, CANARY_SCENARIO, faithful_seat

SEED = 15


class _Game:
    """``play(..., web=True)`` in a thread; ``url`` is the seat's page."""

    def __init__(self, out_dir: Path, **options: Any) -> None:
        self.urls: queue.Queue[str] = queue.Queue()
        self.result: Any = None
        self.error: BaseException | None = None

        def target() -> None:
            try:
                self.result = play(
                    CANARY_SCENARIO,
                    web=True,
                    seed=SEED,
                    out_dir=out_dir,
                    announce=self._announce,
                    linger_s=20,
                    **options,
                )
            except BaseException as exc:  # reported by the test
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def _announce(self, line: str) -> None:
        if " open http" in line:
            self.urls.put(line.split(" open ", 1)[1])

    def url(self) -> str:
        return self.urls.get(timeout=30)

    def join(self) -> Any:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the game did not end"
        if self.error is not None:
            raise self.error
        return self.result


def _hidden_texts(log: Any, seat: str) -> list[str]:
    """Texts of events the seat did not observe (and that no event it observed also holds)."""
    everyone = frozenset(log.header.seating)
    seen = " ".join(str(e) for e in log.events if entitled(e, everyone, agent=seat))
    hidden = []
    for event in log.events:
        if seat in event.visible_to:
            continue
        for name in ("message", "text"):
            value = getattr(event, name, None)
            if isinstance(value, str) and len(value) >= 24 and value not in seen:
                hidden.append(value)
    return hidden


def test_a_human_plays_a_full_game_in_the_browser_and_is_sent_nothing_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    if chromium is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium)")
    monkeypatch.setattr(WebInterface, "poll_ms", 60)
    seat, traitor = faithful_seat(CANARY_SCENARIO, SEED)
    game = _Game(tmp_path / "run", seats=[seat], labels="p-017")
    url = game.url()
    bodies: list[tuple[str, bytes]] = []
    answered = 0
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def record(route: Any) -> None:
            response = route.fetch()
            bodies.append((route.request.url, response.body()))
            route.fulfill(response=response)

        page.route("**/*", record)
        page.goto(url)
        page.wait_for_selector("#agree").click()
        while True:
            page.wait_for_selector("#ask, #game-over", timeout=30_000)
            if page.locator("#game-over").count():
                break
            ask = page.locator("#ask")
            qid = ask.get_attribute("data-qid")
            choices = ask.locator("button.choice")
            if choices.count():
                choices.nth(answered % choices.count()).click()
            else:
                page.fill("#answer-text", f"I am faithful and I say so for the {answered}th time.")
                page.click("#send")
            answered += 1
            page.wait_for_function(
                "qid => !document.querySelector('#ask') || document.querySelector('#ask').dataset.qid !== qid", arg=qid
            )
        final = page.inner_text("#game-over")
        browser.close()
    result = game.join()
    assert errors == []
    assert "Game over" in final

    log = read_log(result.log_path)
    assert log.status == "completed"
    asked = log.of_type(ev.HumanInput)
    assert len(asked) == answered > 3
    assert all(e.agent == seat and e.label == "p-017" and e.fallback is None for e in asked)
    assert all(e.response_s is not None and e.response_s >= 0 for e in asked)
    assert log.header.seating[seat].policy == "human" and log.header.seating[seat].model == "human/p-017"
    said = [e.message for e in log.of_type(ev.Speech) if e.actor == seat]
    assert said and all(m.startswith("I am faithful and I say so") for m in said)

    # Every byte the browser was sent: no canary, no night vote, nothing only others saw.
    assert any("/state" in u for u, _ in bodies)
    assert any("/live" in u and b'"lines": ["' in b for u, b in bodies)  # the live view was sent, filtered
    sent = b"\n".join(body for _, body in bodies).decode("utf-8", "replace")
    # The JSON bodies again with their escapes decoded (the server writes non-ASCII as \uXXXX).
    decoded = [json.dumps(json.loads(b), ensure_ascii=False) for u, b in bodies if "/state" in u or "/live" in u]
    sent += "\n" + "\n".join(decoded)
    for canary in CANARIES:
        assert canary in json.dumps([str(e) for e in log.events])  # the canaries were there to leak
        assert canary not in sent, canary
    assert "voted to murder" not in sent
    assert "role_assignment" not in sent and "human_input" not in sent
    assert f"You are {traitor}" not in sent
    for text in _hidden_texts(log, seat):
        assert text not in sent and json.dumps(text)[1:-1] not in sent, text

    # The log replays exactly and renders in the viewer (the seat's own page holds no canary either).
    assert replay(result.log_path).steps == sum(1 for _ in log.of_type(ev.Action))
    assert "p-017" in render_page(result.log_path, private=True)
    own = render_page(result.log_path, agent=seat)
    assert not any(canary in own for canary in CANARIES)


def test_the_play_server_answers_only_a_seat_token_on_its_own_host(tmp_path: Path) -> None:
    seat, _ = faithful_seat(CANARY_SCENARIO, SEED)
    game = _Game(tmp_path / "run", seats=[seat], labels="p-1", timeout_s=0.2)
    url = game.url()
    base, token = url.rsplit("/", 1)

    def get(address: str, **headers: str) -> int:
        try:
            with urllib.request.urlopen(urllib.request.Request(address, headers=headers), timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert get(url) == 200
    assert get(url + "/state") == 200
    assert get(f"{base}/{token[:-1]}x/state") == 404
    assert get(base.rsplit("/play", 1)[0] + "/") == 404
    assert get(url + "/state", Host="evil.example:80") == 421
    # Agree, then let every question time out: the game ends on logged fallbacks.
    request = urllib.request.Request(url + "/consent", data=b"{}", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).close()
    with urllib.request.urlopen(url + "/state", timeout=5):
        pass
    deadline = 0
    while game.thread.is_alive() and deadline < 600:
        with urllib.request.urlopen(url + "/state", timeout=5) as response:
            if json.loads(response.read()).get("status") == "over":
                break
        game.thread.join(timeout=0.1)
        deadline += 1
    log = read_log(game.join().log_path)
    asked = log.of_type(ev.HumanInput)
    assert asked and all(e.fallback is not None and e.answer is None and e.response_s is None for e in asked)
    assert all("timeout_s=0.2" in (e.problem or "") for e in asked)
    assert log.header.seating[seat].kwargs["timeout_s"] == 0.2


def test_a_human_game_renders_in_the_viewer_page(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    if chromium is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium)")
    from alignsim.viewer import write_page
    from tests.play.test_policy import Scripted

    result = play("traitors/mini-v0", seats=["player_2"], labels="p-9", seed=3, out_dir=tmp_path, interface=Scripted())
    asked = read_log(result.log_path).of_type(ev.HumanInput)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(write_page(result.log_path, tmp_path / "private.html", private=True).as_uri())
        page.select_option("#round-select", "all")
        rows = page.locator(".ev.human_input")
        assert rows.count() == len(asked) > 0
        assert "person p-9" in rows.first.inner_text()
        assert rows.first.locator("details.shown").count() == 1
        page.goto(write_page(result.log_path, tmp_path / "public.html").as_uri())
        page.select_option("#round-select", "all")
        assert page.locator(".ev.human_input").count() == 0  # a person's answers are private
        browser.close()
    assert errors == []

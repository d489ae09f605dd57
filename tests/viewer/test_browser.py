"""End-to-end: the generated page in headless Chromium (Debian's package, driven by Playwright).

Runs in the default suite where ``playwright`` (the Python package, from the test extra) and a
``chromium`` binary are installed; skips with the reason otherwise. No browser is downloaded:
Playwright launches the system Chromium through ``executable_path``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignsim.record import read_log
from alignsim.record import schema as ev
from alignsim.viewer import write_page
from tests.viewer.conftest import HOSTILE

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, tmp_path: Path):
    pages = []

    def opener(log: Path, **view):
        """Open the page of ``log``: the private (researcher's) page unless ``view`` says otherwise."""
        view = view or {"private": True}
        out = write_page(log, tmp_path / f"{log.stem}-{'-'.join(map(str, view.values()))}.html", **view)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.goto(out.as_uri())
        pages.append((page, errors))
        return page, errors

    yield opener
    for page, errors in pages:
        page.close()
        assert errors == []


def _speech_rows(page) -> list[str]:
    return page.locator("#timeline .cell.pub .ev.speech .message").all_inner_texts()


def test_step_through_rounds(open_page, classic_log: Path):
    log = read_log(classic_log)
    last = max(e.round for e in log.events)
    page, _ = open_page(classic_log)
    assert page.inner_text("#round-label") == f"Round 1 of {last}"
    public = lambda r: [e.message for e in log.of_type(ev.Speech) if e.round == r and e.channel == "public"]  # noqa: E731
    assert _speech_rows(page) == public(1)
    page.click("#next")
    assert page.inner_text("#round-label") == f"Round 2 of {last}"
    assert _speech_rows(page) == public(2)
    assert page.locator("#graph-title").inner_text() == "Trust graph · round 2"
    gone = {e.target for e in log.of_type(ev.Elimination) if e.round < 2}
    drawn = set(page.locator("#graph circle.node").evaluate_all("nodes => nodes.map(n => n.dataset.agent)"))
    assert drawn == set(log.header.seating) - gone
    page.keyboard.press("ArrowLeft")
    assert page.inner_text("#round-label") == f"Round 1 of {last}"
    page.select_option("#round-select", "all")
    assert page.inner_text("#round-label") == "All rounds"
    assert len(_speech_rows(page)) == len([e for e in log.of_type(ev.Speech) if e.channel == "public"])
    page.select_option("#round-select", str(last))
    assert page.is_disabled("#next")
    banished = [e for e in log.of_type(ev.Elimination) if e.round == last]
    assert page.locator("#timeline .ev.elimination").count() == len(banished)


def test_private_reasoning_toggle(open_page, classic_log: Path):
    log = read_log(classic_log)
    thought = next(e for e in log.of_type(ev.Reasoning) if e.round == 1)
    page, _ = open_page(classic_log)
    reasoning = page.locator("#timeline .ev.reasoning").first
    assert reasoning.inner_text().endswith(thought.text)
    assert not reasoning.is_visible()
    assert not page.locator("#timeline .role").first.is_visible()
    page.check("#toggle-private")
    assert reasoning.is_visible()
    assert page.locator("#timeline .role").first.is_visible()
    # Reasoning sits in the private column, beside the same action's public speech.
    row = page.locator(f'#timeline .row[data-step="{thought.step}"]')
    assert row.locator(".cell.priv .ev.reasoning").count() == 1
    assert row.locator(".cell.pub .ev.speech").count() == 1
    # Claims carry their lie / honest-error labels.
    assert page.locator("#timeline .claim.lie").count() > 0
    page.uncheck("#toggle-private")
    assert not reasoning.is_visible()


def test_public_view_has_no_ground_truth_labels(open_page, classic_log: Path):
    """Lie / truthful labels reveal roles: without the private toggle they are not in the page at all."""
    page, _ = open_page(classic_log)
    page.select_option("#round-select", "all")
    labelled = "#timeline .claim.lie, #timeline .claim.truthful, #timeline .claim.honest_error"
    assert page.locator("#timeline .claim").count() > 0
    assert page.locator(labelled).count() == 0
    for word in ("lie", "truthful", "honest error"):
        assert all(word not in text for text in page.locator("#timeline .claim").all_inner_texts())
    page.check("#toggle-private")
    assert page.locator(labelled).count() > 0
    page.uncheck("#toggle-private")
    assert page.locator(labelled).count() == 0


def test_each_event_shows_its_seq_and_a_fork_command(open_page, classic_log: Path):
    log = read_log(classic_log)
    speech = next(e for e in log.of_type(ev.Speech) if e.round == 1 and e.channel == "public")
    page, _ = open_page(classic_log)
    box = page.locator(f'#timeline .ev.speech[data-seq="{speech.seq}"]')
    tag = box.locator(".seq")
    assert tag.inner_text() == f"#{speech.seq}"
    tag.click()
    assert box.locator("code.fork").inner_text() == f"alignsim fork {classic_log} --drop-message {speech.seq}"
    tag.click()
    assert box.locator("code.fork").count() == 0


def test_llm_call_details_on_demand(open_page, llm_log: Path):
    page, _ = open_page(llm_log)
    page.check("#toggle-private")
    calls = page.locator("#timeline details.llm")
    assert calls.count() > 0 and not calls.first.is_visible()
    page.check("#toggle-llm")
    first = calls.first
    assert first.is_visible()
    first.locator("summary").click()
    body = first.inner_text()
    assert "raw output" in body.lower() and "You are an AI agent playing The Traitors" in body
    assert "tokens" in first.locator("summary").inner_text()


def test_agent_text_is_shown_never_run(open_page, hostile_log: Path):
    page, errors = open_page(hostile_log)
    hostile_round = next(e.round for e in read_log(hostile_log).of_type(ev.Speech) if e.message == HOSTILE)
    page.select_option("#round-select", str(hostile_round))
    assert HOSTILE in _speech_rows(page)
    assert page.evaluate("window.__pwned") is None
    # The message's markup made no elements.
    assert page.locator("#timeline img, #timeline b, #timeline script").count() == 0
    assert errors == []


def test_other_families_render_generically(open_page, tmp_path: Path):
    from alignsim import scenarios
    from alignsim.run import run_episode

    family = next((s for s in scenarios.ids() if s.startswith("principal_agent/") and "scripted" in s), None)
    if family is None:
        pytest.skip("no scripted principal-agent scenario registered")
    log = run_episode(family, seed=0, out_dir=tmp_path / "pa").log_path
    page, _ = open_page(log)
    page.check("#toggle-private")
    assert page.locator("#timeline .ev.pa_decision").count() > 0
    assert "decisive" in page.locator("#timeline .ev.pa_decision").first.inner_text()
    assert not page.locator("#graph-section").is_visible()


def test_public_page_shows_what_everyone_saw(open_page, classic_log: Path):
    """The default page: a public-view note, no private controls, no private rows; the roles
    the game revealed show on their own."""
    log = read_log(classic_log)
    page, _ = open_page(classic_log, private=False)
    assert "Public view" in page.inner_text("#view-note")
    for control in ("#toggle-private", "#toggle-llm", "#toggle-actions", "#agent-filter"):
        assert not page.locator(control).is_visible()
    page.select_option("#round-select", "all")
    assert page.locator("#timeline .ev.reasoning, #timeline .ev.action, #timeline .cell.priv .ev").count() == 0
    assert len(_speech_rows(page)) == len([e for e in log.of_type(ev.Speech) if e.channel == "public"])
    banished = next(e for e in log.of_type(ev.Elimination) if e.cause == "banished")
    chip = page.locator(f'#timeline .ev.elimination[data-seq="{banished.seq}"] .role')
    assert chip.is_visible() and chip.inner_text() == banished.revealed_role
    # A role shows from the round the game revealed it in: in round 1 only round 1's departures.
    page.select_option("#round-select", "1")
    shown = set(
        page.locator("#players-body tr").evaluate_all(
            "rows => rows.filter(r => r.querySelector('.role'))"
            ".map(r => r.querySelector('.who').firstChild.textContent)"
        )
    )
    assert shown == {e.target for e in log.of_type(ev.Elimination) if e.round == 1}


def test_private_page_says_so_at_the_top(open_page, classic_log: Path):
    page, _ = open_page(classic_log, private=True)
    note = page.locator("#view-note")
    assert note.is_visible() and note.inner_text().startswith("PRIVATE VIEW")

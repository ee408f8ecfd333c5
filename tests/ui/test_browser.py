"""The UI in a real headless Chromium, over the real corpus and model, mounted in the API.

Each test drives the page as a manager would (typing, clicking, the keyboard) and checks what
the page shows against what the services and the feedback store hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from assistant.schemas import AskRequest
from tests.ui.conftest import RunningUi, serve_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.corpus, pytest.mark.integration]

ANSWERABLE = "What is the NHS productivity growth target?"
HOW_TO = "How do I set up a neighbourhood health team?"
FOLLOW_UP = "What does the plan say about the NHS App?"
UNANSWERABLE = "How many years must a GP practice keep the records of a patient who has died?"
ANSWER_TIMEOUT_MS = 60_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def running(corpus_services, tmp_path_factory) -> Iterator[RunningUi]:
    services, _, _ = corpus_services
    with serve_ui(services, tmp_path_factory.mktemp("ui") / "feedback.sqlite") as ui:
        yield ui


class ChatPage:
    """The page as a test sees it: ask, wait for the answer, open a citation, rate."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.requests: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.goto(url)
        page.wait_for_selector("#question textarea")

    def ask(self, question: str, turn: int) -> str:
        """Type and send a question; return the text of answer number ``turn`` once final."""
        self.page.fill("#question textarea", question)
        self.page.click("#ask")
        return self.wait_for_answer(turn)

    def wait_for_answer(self, turn: int) -> str:
        # The answer is final when the panel shows this question's sources.
        self.page.wait_for_selector(
            f"#sources-panel h2:has-text('Sources for question {turn}')", timeout=ANSWER_TIMEOUT_MS
        )
        bot = self.page.locator("#chat [data-testid='bot']").nth(turn - 1)
        return bot.inner_text()

    def open_citation(self, turn: int, n: int) -> Any:
        """Click marker [n] of answer ``turn`` and return the source it opened.

        The chat re-renders once more as Gradio closes the event; a click that lands in that
        moment can meet a shifting layout, so a click that opened nothing is tried again (at
        most three times) rather than failing on the page's timing."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        details = self.page.locator(f"#cite-{turn}-{n}")
        for _ in range(3):
            self.page.locator(f"#chat a[href='#cite-{turn}-{n}']").first.click()
            try:
                self.page.wait_for_function(
                    "id => document.getElementById(id)?.open === true",
                    arg=f"cite-{turn}-{n}",
                    timeout=2_000,
                )
                break
            except PlaywrightTimeout:
                continue
        assert details.evaluate("d => d.open"), f"citation [{n}] did not open"
        return details

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path), full_page=True)


@pytest.fixture
def chat(browser, running) -> Iterator[ChatPage]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield ChatPage(page, running.ui_url)
    context.close()


def _direct_answer(running: RunningUi, question: str):
    return running.services.asker.ask(AskRequest(question=question), record=False).answer


def test_a_question_gets_a_streamed_cited_answer_and_its_citation_shows_the_quote(
    chat, running, artifacts
):
    text = chat.ask(ANSWERABLE, turn=1)
    expected = _direct_answer(running, ANSWERABLE)
    assert not expected.refused
    assert "2%" in text and re.search(r"\[1\]", text)
    assert "…" not in text[-3:], "the streaming cursor stayed after the answer was final"
    chat.screenshot(artifacts / "answer-view.png")

    details = chat.open_citation(1, 1)
    first = expected.citations[0]
    marked = " ".join(details.locator("mark").all_inner_texts())
    for quote in first.quotes:
        assert " ".join(quote.split()) in " ".join(marked.split())
    assert first.title in details.locator("summary").inner_text()
    if first.source_url:
        href = details.locator("a.source-link").get_attribute("href")
        assert href.startswith(first.source_url.split("#")[0])
    chat.screenshot(artifacts / "citation-view.png")


def test_an_unanswerable_question_says_not_covered_and_lists_the_nearest_sources(chat):
    text = chat.ask(UNANSWERABLE, turn=1)
    assert "Not covered by the corpus" in text
    panel = chat.page.locator("#sources-panel")
    assert "Nearest sources" in panel.inner_text()
    assert panel.locator("details.citation").count() >= 1


def test_rating_and_comment_are_stored_redacted_in_the_feedback_store(chat, running):
    before = {r.feedback_id for r in running.feedback.records()}
    chat.ask(ANSWERABLE, turn=1)
    chat.page.locator("#chat button[aria-label='Dislike']").last.click()
    chat.page.wait_for_selector("#feedback-status:has-text('your rating is saved')")
    chat.page.fill("#comment textarea", "Needs the year; ask jane.doe@example.org")
    chat.page.click("#send-comment")
    chat.page.wait_for_selector("#feedback-status:has-text('your comment is saved')")

    [record] = [r for r in running.feedback.records() if r.feedback_id not in before]
    assert record.rating == "down" and record.question == ANSWERABLE
    assert record.comment and record.comment.startswith("Needs the year")
    assert "jane.doe" not in record.comment


def test_a_follow_up_keeps_the_conversation_and_earlier_sources(chat, artifacts):
    chat.ask(HOW_TO, turn=1)
    chat.ask(FOLLOW_UP, turn=2)
    assert chat.page.locator("#chat [data-testid='bot']").count() == 2
    panel = chat.page.locator("#sources-panel")
    assert "Sources for question 1" in panel.inner_text()  # folded below the latest
    chat.open_citation(1, 1)  # a marker in the earlier answer still opens its source

    with chat.page.expect_download() as download:
        chat.page.click("#download")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert HOW_TO in markdown and FOLLOW_UP in markdown and "### Sources" in markdown

    chat.page.click("#new-conversation")
    chat.page.wait_for_function(
        "document.querySelectorAll(\"#chat [data-testid='bot']\").length === 0"
    )
    assert "Ask a question" in chat.page.locator("#sources-panel").inner_text()


def test_a_follow_up_after_a_refusal_continues_it_and_a_new_topic_stands_alone(chat):
    """A refused turn stays in the conversation, so "and who decides that?" is read against
    it; "What are the three shifts?" after it is read as it stands."""
    first = chat.ask(UNANSWERABLE, turn=1)
    assert "Not covered by the corpus" in first
    second = chat.ask("And who decides that?", turn=2)
    assert "Read as:" in second and "years must a GP practice keep" in second
    third = chat.ask("What are the three shifts?", turn=3)
    assert "Read as:" not in third


def test_keyboard_alone_can_ask_and_open_a_citation(chat):
    page = chat.page
    for _ in range(40):  # Tab from the top of the page to the question box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('#question') !== null"):
            break
    else:
        pytest.fail("Tab never reached the question box")
    page.keyboard.type(ANSWERABLE)
    page.keyboard.press("Enter")
    chat.wait_for_answer(1)
    page.locator("#chat a[href='#cite-1-1']").first.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.getElementById('cite-1-1').open")
    assert page.evaluate("document.activeElement.closest('#cite-1-1') !== null")


def _axe_serious(page: Any, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa', 'wcag22aa', 'best-practice']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_phone_width_question_on_screen_panels_stacked_and_a_tapped_source_opens_in_place(
    browser, running, artifacts, axe_source
):
    """At 390x844 the question box is on screen on landing; the panels stack without sideways
    scrolling; tapping a marker opens its source in a drawer over the chat, and closing it
    returns focus to the marker. axe finds nothing serious with the drawer open."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    chat = ChatPage(context.new_page(), running.ui_url)
    page = chat.page
    box = page.locator("#question textarea").bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], "question box below the fold on landing"
    chat.screenshot(artifacts / "phone-landing.png")
    chat.ask(ANSWERABLE, turn=1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the phone"
    chat_box = page.locator("#chat").bounding_box()
    panel_box = page.locator("#sources-panel").bounding_box()
    assert panel_box["y"] >= chat_box["y"] + chat_box["height"] - 1, "panel not below the chat"
    assert panel_box["width"] >= PHONE["width"] * 0.8
    chat.screenshot(artifacts / "phone-view.png")

    marker = page.locator("#chat a[href='#cite-1-1']").first
    scroll_before = page.evaluate("window.scrollY")
    marker.tap()
    drawer = page.locator("#cite-drawer")
    drawer.wait_for(state="visible")
    assert drawer.locator("mark").count() >= 1  # the quote, highlighted, where the reader is
    assert abs(page.evaluate("window.scrollY") - scroll_before) < 100, "the page jumped away"
    assert page.evaluate("document.activeElement.classList.contains('drawer-close')")
    page.screenshot(path=str(artifacts / "phone-citation-drawer.png"))
    assert not _axe_serious(page, axe_source)
    page.locator("#cite-drawer .drawer-close").tap()
    assert drawer.is_hidden()
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#cite-1-1"
    context.close()


def test_an_example_question_is_asked_at_once(chat):
    example = chat.page.locator("button.gallery-item").first
    asked = example.inner_text().strip()
    example.click()
    text = chat.wait_for_answer(1)
    assert text and chat.page.locator("#chat [data-testid='user']").first.inner_text().strip() == (
        asked
    )


def test_the_chat_bin_resets_like_new_conversation(chat):
    chat.ask(ANSWERABLE, turn=1)
    chat.page.locator(
        "#chat button[aria-label*='Clear' i], #chat button[title*='Clear' i]"
    ).first.click()
    chat.page.wait_for_selector("#sources-panel h2:has-text('Sources')")
    chat.page.wait_for_function(
        "() => !document.querySelector('#sources-panel').innerText.includes('question 1')"
    )
    chat.ask(ANSWERABLE, turn=1)  # numbering starts again: this is question 1
    assert chat.page.locator("#chat [data-testid='bot']").count() == 1


def test_filters_show_as_chips_and_reset_with_a_new_conversation(chat, artifacts):
    page = chat.page
    page.click("#filters .label-wrap")
    dropdown = page.locator("#filters input").first
    dropdown.click()
    option = page.locator("ul[role='listbox'] li").first
    title = option.inner_text().strip()
    option.click()
    page.click("#filters .label-wrap")  # close the accordion: the filter still shows
    chips = page.locator("#filter-chips")
    chips.locator(".chip").first.wait_for()
    assert title.split(" (")[0] in chips.inner_text()
    chat.screenshot(artifacts / "filter-chips.png")
    page.click("#new-conversation")
    page.wait_for_function("() => !document.querySelector('#filter-chips .chip')")
    page.click("#filters .label-wrap")
    assert page.locator("#filters .token").count() == 0  # no document left selected


def test_the_buttons_under_the_question_stay_on_one_line_at_desktop_width(chat):
    for button in ("#ask", "#new-conversation", "#download"):
        box = chat.page.locator(button).bounding_box()
        assert box["height"] < 56, f"{button} wraps ({box['height']}px tall)"
    names = chat.page.locator("#download").inner_text()
    assert "Download" in names


def test_no_serious_or_critical_accessibility_violations(chat, axe_source, artifacts):
    chat.ask(HOW_TO, turn=1)
    chat.open_citation(1, 1)
    chat.screenshot(artifacts / "desktop-citation.png")
    serious = _axe_serious(chat.page, axe_source)
    assert not serious, "\n".join(serious)


def test_the_page_makes_no_request_beyond_the_machine(chat, running):
    chat.ask(ANSWERABLE, turn=1)
    chat.open_citation(1, 1)
    hosts = {urlparse(u).netloc for u in chat.requests if urlparse(u).scheme in ("http", "https")}
    assert hosts == {urlparse(running.base_url).netloc}

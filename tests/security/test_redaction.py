"""Patient identifiers: the exact redaction rules, then every place a question or comment lands.

The rules are the ones written in ``assistant/redact.py``'s docstring; each is pinned here with
valid NHS numbers (check digits computed below, independently of the code under test) and
near-misses (a wrong check digit, nine or eleven digits, other groupings, ten digits inside a
longer number), emails and UK phone numbers with theirs. Then a question and a feedback comment
carrying identifiers go through the API (extractive, and LLM mode with a model that repeats
them) and the page, and the server's logs, the feedback store and its export, and the
downloaded conversation must hold the marks for the valid ones and the near-misses unchanged.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import pytest

from assistant.asking import LOGGED_QUESTION_CHARS
from assistant.feedback import FeedbackStore
from assistant.redact import EMAIL_MARK, NHS_NUMBER_MARK, PHONE_MARK, identifiers, redact
from assistant.transcript import Exchange, conversation_markdown, literal
from tests.api.conftest import serve
from tests.api.test_api import events
from tests.security.conftest import AuditedPage, PlantedIndex


def check_digit(nine: str) -> int | None:
    """The NHS number check digit of nine digits (None when it would be 10: no valid number)."""
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    digit = 11 - total % 11
    return {11: 0, 10: None}.get(digit, digit)


VALID = "9434765919"
assert check_digit(VALID[:9]) == int(VALID[9])
SECOND = "4857773457"
assert check_digit(SECOND[:9]) == int(SECOND[9])

# (text, what redact makes of it): every rule and every near-miss, exactly.
NHS_CASES = [
    # valid, in each accepted spelling
    ("9434765919", NHS_NUMBER_MARK),
    ("943 476 5919", NHS_NUMBER_MARK),
    ("943-476-5919", NHS_NUMBER_MARK),
    ("943 476-5919", NHS_NUMBER_MARK),
    ("943-476 5919", NHS_NUMBER_MARK),
    ("943\u00a0476\u00a05919", NHS_NUMBER_MARK),
    ("943\u202f476\u202f5919", NHS_NUMBER_MARK),
    ("943476 5919", NHS_NUMBER_MARK),
    ("943 4765919", NHS_NUMBER_MARK),
    ("485 777 3457", NHS_NUMBER_MARK),
    # valid, in context: letters and punctuation around it do not protect it
    ("NHS no: 943 476 5919.", f"NHS no: {NHS_NUMBER_MARK}."),
    ("NHS9434765919", f"NHS{NHS_NUMBER_MARK}"),
    ("ref-9434765919", f"ref-{NHS_NUMBER_MARK}"),
    ("(943 476 5919)", f"({NHS_NUMBER_MARK})"),
    ("9434765919-related", f"{NHS_NUMBER_MARK}-related"),
    ("943 476 5919 2", f"{NHS_NUMBER_MARK} 2"),  # a space and a digit: a new number
    # near-misses: left alone
    *[(VALID[:9] + d, VALID[:9] + d) for d in "012345678"],  # wrong check digit
    ("0000000060", "0000000060"),  # check digit would be 10: no valid number
    ("943476591", "943476591"),  # nine digits
    ("943 476 591", "943 476 591"),
    ("94347659190", "94347659190"),  # eleven digits
    ("19434765919", "19434765919"),
    ("943 476 59190", "943 476 59190"),
    ("9434 765 919", "9434 765 919"),  # other groupings
    ("94 34 76 59 19", "94 34 76 59 19"),
    ("943.476.5919", "943.476.5919"),
    ("943  476  5919", "943  476  5919"),
    ("943\t476\t5919", "943\t476\t5919"),
    ("123-9434765919", "123-9434765919"),  # inside a longer number
    ("9434765919-2", "9434765919-2"),
    ("943-476-5919-1", "943-476-5919-1"),
    ("0001-943-476-5919", "0001-943-476-5919"),
]
EMAIL_CASES = [
    ("jo.bloggs@nhs.net", EMAIL_MARK),
    ("First.Last+tag@Trust.NHS.uk", EMAIL_MARK),
    ("o'neil@example.org", EMAIL_MARK),
    ("a_b%c@sub.domain.co.uk", EMAIL_MARK),
    ("<jo@nhs.net>", f"<{EMAIL_MARK}>"),
    ("mailto:jo@nhs.net", f"mailto:{EMAIL_MARK}"),
    ("jo at nhs dot net", "jo at nhs dot net"),
    ("@nhs_england", "@nhs_england"),
    ("jo@localhost", "jo@localhost"),
    ("user@", "user@"),
]
PHONE_CASES = [
    ("020 7946 0958", PHONE_MARK),
    ("(020) 7946 0958", PHONE_MARK),
    ("+44 20 7946 0958", PHONE_MARK),
    ("+44 (0)20 7946 0958", PHONE_MARK),
    ("0044 20 7946 0958", PHONE_MARK),
    ("07700 900123", PHONE_MARK),
    ("07700-900-123", PHONE_MARK),
    ("+447700900123", PHONE_MARK),
    ("0161 496 0000", PHONE_MARK),
    ("0800 123 4567", PHONE_MARK),
    ("0300 311 2233", PHONE_MARK),
    ("NHS 111", "NHS 111"),
    ("999", "999"),
    ("01234", "01234"),
    ("0161 496", "0161 496"),
    ("+1 202 555 0143", "+1 202 555 0143"),
    ("+33 1 23 45 67 89", "+33 1 23 45 67 89"),
    ("06123 456789", "06123 456789"),
    ("ext. 4021", "ext. 4021"),
    ("2026/27 and £1,500,000", "2026/27 and £1,500,000"),
]


@pytest.mark.parametrize(("text", "expected"), NHS_CASES + EMAIL_CASES + PHONE_CASES)
def test_redaction_follows_the_documented_rule_exactly(text, expected):
    assert redact(text) == expected
    assert redact(f"before {text} after") == f"before {expected} after"
    assert bool(identifiers(text)) == (expected != text)


# A question and a comment with valid identifiers and near-misses, and what must be kept of
# them (written out by hand, not computed by the code under test).
QUESTION = (
    "When does the discharge lounge open for my patient 943 476 5919 (also 943-476 5919)? "
    "Email jo.bloggs@nhs.net or ring 07700 900123; ref 9434765918, batch 19434765919."
)
QUESTION_KEPT = (
    "When does the discharge lounge open for my patient [NHS number] (also [NHS number])? "
    "Email [email] or ring [phone]; ref 9434765918, batch 19434765919."
)
COMMENT = "Wrong for 485 777 3457 and 4857773457; call +44 20 7946 0958, not 943.476.5919."
COMMENT_KEPT = "Wrong for [NHS number] and [NHS number]; call [phone], not 943.476.5919."
VALID_FORMS = (
    "943 476 5919",
    "943-476 5919",
    "jo.bloggs",
    "07700 900123",
    "485 777 3457",
    "4857773457",
    "7946 0958",
)
NEAR_MISSES = ("9434765918", "19434765919", "943.476.5919")
# A model that repeats what the user typed into an otherwise grounded sentence.
ECHO = (
    "The discharge lounge opens at eight in the morning for patient 943 476 5919 [{n}]. "
    "Lounge staff check medicines before patients leave, as jo.bloggs@nhs.net asked [{n}]. "
    "The discharge lounge opens at eight in the morning for patients waiting for transport [{n}]."
)


def assert_only_marks(text: str, where: str) -> None:
    for valid in VALID_FORMS:
        assert valid not in text, f"{where}: {valid!r} kept"


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the server threads logged (this test's own HTTP client logs in its thread)."""
    mine = threading.get_ident()
    return "\n".join(r.getMessage() for r in caplog.records if r.thread != mine)


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["extractive", "llm"])
def test_identifiers_in_a_question_and_a_comment_are_only_kept_redacted(
    planted: PlantedIndex, tmp_path: Path, caplog, mode
):
    caplog.set_level(logging.DEBUG)
    # The identifiers dilute the question's overlap with the passage; the refusal threshold is
    # not what is tested here, so it is lowered.
    settings = {
        "api__feedback_db": tmp_path / "feedback.sqlite",
        "answer__min_evidence": 0.05,
        "answer__min_sentence_similarity": -1.0,
    }
    if mode == "llm":
        chunks = planted.services.retrieve(QUESTION)
        n = next(i for i, c in enumerate(chunks, 1) if "discharge lounge opens" in c.text)
        services = planted.llm(ECHO.format(n=n), **settings)
    else:
        services = planted.with_settings(**settings)
    with serve(services) as api, api.client() as client:
        asked = client.post("/v1/ask", json={"question": QUESTION, "mode": mode})
        assert asked.status_code == 200, asked.text
        body = asked.json()
        streamed = client.post("/v1/ask/stream", json={"question": QUESTION, "mode": mode})
        rated = client.post(
            "/v1/feedback",
            json={"answer_id": body["answer_id"], "rating": "down", "comment": COMMENT},
        )
        assert rated.status_code == 201, rated.text
    assert not body["refused"] and "eight in the morning" in body["answer"]
    assert_only_marks(body["answer"], "the answer")  # a model repeating them was overruled
    if mode == "llm":
        draft = "".join(d["text"] for name, d in events(streamed.text) if name == "delta")
        assert "943 476 5919" in draft and "jo.bloggs@nhs.net" in draft  # the model did
        assert body["grounding"]["removed"] == 2  # and the check removed both sentences

    store = FeedbackStore(tmp_path / "feedback.sqlite")
    records = list(store.records())
    assert [(r.question, r.comment) for r in records] == [(QUESTION_KEPT, COMMENT_KEPT)]
    assert_only_marks(records[0].answer, "the stored answer")
    exported = io.StringIO()
    store.export_jsonl(exported)
    assert_only_marks(exported.getvalue(), "the feedback export")
    for near_miss in NEAR_MISSES:
        assert near_miss in exported.getvalue()

    logged = server_log(caplog)
    assert repr(QUESTION_KEPT[:LOGGED_QUESTION_CHARS]) in logged  # logged, redacted
    assert_only_marks(logged, "the server's log")
    for file in tmp_path.glob("feedback.sqlite*"):  # the database and its write-ahead log
        assert_only_marks(file.read_bytes().decode("utf-8", "replace"), file.name)

    answer = services.ask(QUESTION, mode=mode)
    markdown = conversation_markdown([Exchange(QUESTION, answer=answer)])
    assert f"## 1. {literal(QUESTION_KEPT)}" in markdown
    assert_only_marks(markdown, "the exported conversation")


@pytest.mark.browser
@pytest.mark.integration
def test_the_page_shows_stores_and_downloads_identifiers_redacted(browser, planted_ui, caplog):
    caplog.set_level(logging.INFO)
    before = {r.feedback_id for r in planted_ui.feedback.records()}
    page = AuditedPage(browser, planted_ui)
    try:
        page.ask(QUESTION)
        shown = page.page.locator("#chat [data-testid='user']").last.inner_text()
        assert shown.strip() == QUESTION_KEPT
        page.page.locator("#chat button[aria-label='Dislike']").last.click()
        page.page.wait_for_selector("#feedback-status:has-text('your rating is saved')")
        page.page.fill("#comment textarea", COMMENT)
        page.page.click("#send-comment")
        page.page.wait_for_selector("#feedback-status:has-text('your comment is saved')")
        with page.page.expect_download() as download:
            page.page.click("#download")
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
    finally:
        page.close()
    assert f"## 1. {literal(QUESTION_KEPT)}" in markdown
    assert_only_marks(markdown, "the downloaded conversation")
    [record] = [r for r in planted_ui.feedback.records() if r.feedback_id not in before]
    assert (record.question, record.comment) == (QUESTION_KEPT, COMMENT_KEPT)
    assert_only_marks(server_log(caplog), "the server's log")

"""Document lifecycle: periods read, and the warning a citation carries, as of a date."""

from __future__ import annotations

import json
import tomllib
from datetime import date

import pytest

from assistant.lifecycle import period_dates, warning
from assistant.schemas import AskRequest, DocumentMeta
from tests.conftest import PROJECT_ROOT

TITLES = {"mtpf": "Medium term planning framework"}


def meta(**kw: object) -> DocumentMeta:
    return DocumentMeta(doc_id="d", title="T", file_name="d.md", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("period", "span"),
    [
        ("2025/26", (date(2025, 4, 1), date(2026, 3, 31))),
        ("2026/27 to 2028/29", (date(2026, 4, 1), date(2029, 3, 31))),
        ("2026/27–2030/31", (date(2026, 4, 1), date(2031, 3, 31))),
        ("2025", (date(2025, 1, 1), date(2025, 12, 31))),
        ("2025-2035", (date(2025, 1, 1), date(2035, 12, 31))),
        ("unknown", None),
        ("next year", None),
    ],
)
def test_periods_are_read_as_nhs_financial_or_calendar_years(period, span):
    assert period_dates(period) == span


def test_a_superseded_document_names_its_successor_and_its_period():
    text = warning(
        meta(status="superseded", period="2025/26", superseded_by="mtpf"),
        date(2026, 12, 7),
        TITLES.get,
    )
    assert text is not None and text.startswith("Superseded by Medium term planning framework.")
    assert "It covers 2025/26." in text


def test_a_period_that_has_ended_is_said_even_when_nothing_replaces_it():
    guide = meta(status="unknown", period="2025/26")
    assert warning(guide, date(2026, 3, 31)) is None  # still its last day
    later = warning(guide, date(2026, 4, 1))
    assert later is not None and "ended on 31 March 2026" in later
    assert warning(meta(status="current", period="2026/27-2028/29"), date(2026, 12, 7)) is None


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("withdrawn", "Withdrawn"),
        ("historical", "historical record"),
        ("consultation/draft", "discussion paper"),
    ],
)
def test_other_statuses_are_named(status, words):
    text = warning(meta(status=status, period="unknown"), date(2026, 12, 7))
    assert text is not None and words in text and "unknown" not in text


def test_every_manifest_entry_has_its_lifecycle_and_the_reason_for_it():
    raw = (PROJECT_ROOT / "corpus" / "sources.toml").read_text(encoding="utf-8")
    sources = tomllib.loads(raw)["source"]
    for source in sources:
        assert {"published", "period", "status"} <= set(source), source["id"]
        assert source["status"] in DocumentMeta.model_fields["status"].annotation.__args__  # type: ignore[union-attr]
        if source["status"] == "superseded":
            assert source.get("superseded_by"), source["id"]
    assert raw.count("# lifecycle:") == len(sources)  # a reason for each status


def test_a_superseded_source_is_never_quoted_without_its_warning_on_any_surface(tmp_path):
    """/v1/ask's citation field, the OpenAI text, the page's badge and note, the CLI and the
    Markdown download all carry the warning; a current source carries none."""
    from typer.testing import CliRunner

    from assistant.api.openai_compat import completion_text
    from assistant.cli import app as cli_app
    from assistant.services import build_services
    from assistant.transcript import Exchange, conversation_markdown
    from tests.conftest import fake_settings
    from tests.ingest.test_pipeline import write_corpus
    from ui.render import citation_html

    manifest = tmp_path / "sources.toml"
    manifest.write_text(
        '[[source]]\nid = "old-guide"\ntitle = "Planning guide 2025/26"\nfiles = ["guide.md"]\n'
        'period = "2025/26"\nstatus = "superseded"\nsuperseded_by = "new-framework"\n\n'
        '[[source]]\nid = "new-framework"\ntitle = "Medium term framework"\nfiles = []\n',
        encoding="utf-8",
    )
    settings = fake_settings(
        tmp_path / "data", ingest__manifest=manifest, answer__as_of=date(2026, 12, 7)
    )
    services = build_services(settings)
    services.ingest([write_corpus(tmp_path / "corpus")])
    info = {d.doc_id: d for d in services.documents.list()}["guide.md"]
    assert (info.status, info.period, info.superseded_by) == (
        "superseded",
        "2025/26",
        "new-framework",
    )

    answer = services.asker.ask(
        AskRequest(question="Who must agree a joint plan with partner trusts?"),
        record=False,
    ).answer
    [cited] = [c for c in answer.citations if c.doc_id == "guide.md"]
    expected = "Superseded by Medium term framework."
    assert cited.document_warning is not None and cited.document_warning.startswith(expected)
    response = services.asker.ask(
        AskRequest(question="Who must agree a joint plan with partner trusts?"),
        record=False,
    ).to_response()
    assert response.citations[0].document_warning == cited.document_warning  # /v1/ask
    assert f"⚠ {expected}" in completion_text(response)  # OpenAI text
    page = citation_html(cited, 1)
    assert "badge-warning" in page and expected in page  # the page
    download = conversation_markdown([Exchange("q", answer=answer)])
    assert expected in download  # the Markdown download
    out = CliRunner().invoke(
        cli_app,
        ["ask", "Who must agree a joint plan with partner trusts?", "--data-dir",
         str(settings.data_dir)],
        env={"NHS_ASSISTANT_EMBEDDING_BACKEND": "fake",
             "NHS_ASSISTANT_INGEST_MANIFEST": str(manifest),
             "NHS_ASSISTANT_ANSWER_AS_OF": "2026-12-07"},
    )  # fmt: skip
    assert out.exit_code == 0 and expected in " ".join(out.output.split())  # the CLI
    notes = [c for c in answer.citations if c.doc_id == "notes.txt"]
    assert all(c.document_warning is None for c in notes)


def test_the_cli_answers_as_of_a_date_and_index_stats_lists_status_and_period(
    tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from assistant.cli import app as cli_app
    from tests.ingest.test_pipeline import write_corpus

    manifest = tmp_path / "sources.toml"
    manifest.write_text(
        '[[source]]\nid = "guide"\ntitle = "Planning guide"\nfiles = ["guide.md"]\n'
        'period = "2025/26"\nstatus = "unknown"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    monkeypatch.setenv("NHS_ASSISTANT_INGEST_MANIFEST", str(manifest))
    data = ["--data-dir", str(tmp_path / "data")]
    run = CliRunner().invoke
    assert run(cli_app, ["ingest", str(write_corpus(tmp_path / "corpus")), *data]).exit_code == 0
    question = "Who must agree a joint plan with partner trusts?"
    during = run(cli_app, ["ask", question, "--as-of", "2026-03-01", *data])
    after = run(cli_app, ["ask", question, "--as-of", "2026-05-01", *data])
    assert during.exit_code == after.exit_code == 0
    assert "ended on 31 March 2026" not in during.output
    assert "ended on 31 March 2026" in " ".join(after.output.split())
    stats = run(cli_app, ["index", "stats", "--json", *data])
    by_doc = {d["doc_id"]: d for d in json.loads(stats.output)["by_document"]}
    assert (by_doc["guide.md"]["status"], by_doc["guide.md"]["period"]) == ("unknown", "2025/26")


@pytest.mark.integration
def test_an_admin_marks_a_document_superseded_over_the_api_without_reindexing(tmp_path):
    """PATCH /v1/documents/{id}: the next answer's citation carries the warning, no passage is
    embedded again, bad input is a 422 naming the field, and indexing the file again (it
    changed) keeps the admin's word over what the file says."""
    from assistant.services import build_services
    from tests.api.conftest import ADMIN_KEY, ASK_KEY, api_settings, serve

    settings = api_settings(tmp_path / "data")
    settings.answer.as_of = date(2026, 12, 7)
    services = build_services(settings)
    guide = tmp_path / "guide.md"
    guide.write_text(
        "# Planning guide\n\n## Joint plans\n\nEach ICB must agree a joint forward plan with its "
        "partner trusts before the end of March every year.\n",
        encoding="utf-8",
    )
    services.ingest([guide])
    question = {"question": "Who must agree a joint forward plan with partner trusts?"}
    with serve(services) as running, running.client(ADMIN_KEY) as admin:
        before = admin.post("/v1/ask", json=question).json()
        assert before["citations"][0]["document_warning"] is None, before
        chunks_before = admin.get("/v1/documents").json()["documents"][0]["chunks"]
        with running.client(ASK_KEY) as asker:
            denied = asker.patch("/v1/documents/guide.md", json={"status": "superseded"})
            assert denied.status_code == 403
        for body, field in (
            ({}, "status"),
            ({"period": "last year"}, "period"),
            ({"period": "2028/29-2026/27"}, "period"),
            ({"status": "obsolete"}, "status"),
            ({"superseded_by": "guide.md"}, "superseded_by"),
            ({"status": "superseded", "colour": "red"}, "colour"),
        ):
            bad = admin.patch("/v1/documents/guide.md", json=body)
            assert bad.status_code == 422, (body, bad.text)
            assert field in bad.text
        assert admin.patch("/v1/documents/nope.md", json={"status": "current"}).status_code == 404
        marked = admin.patch(
            "/v1/documents/guide.md",
            json={"status": "superseded", "superseded_by": "new-framework", "period": "2025/26"},
        )
        assert marked.status_code == 200, marked.text
        info = marked.json()
        assert (info["status"], info["superseded_by"], info["period"]) == (
            "superseded",
            "new-framework",
            "2025/26",
        )
        assert info["chunks"] == chunks_before
        after = admin.post("/v1/ask", json=question).json()
        warned = after["citations"][0]["document_warning"]
        assert warned.startswith("Superseded by new-framework. It covers 2025/26."), after
        # An explicit null clears a field; a successor naming the document itself is refused.
        cleared = admin.patch("/v1/documents/guide.md", json={"superseded_by": None})
        assert cleared.status_code == 200 and cleared.json()["superseded_by"] is None
        assert admin.patch("/v1/documents/guide", json={"status": "current"}).status_code == 404
        itself = admin.patch("/v1/documents/guide.md", json={"superseded_by": "guide"})
        assert itself.status_code == 422 and "superseded_by" in itself.text
        admin.patch("/v1/documents/guide.md", json={"superseded_by": "new-framework"})
    guide.write_text(guide.read_text(encoding="utf-8") + "\nPlans are published in May.\n")
    report = services.ingest([guide])
    assert report.files[0].status == "updated"
    [again] = services.documents.list()
    assert (again.status, again.superseded_by, again.period) == (
        "superseded",
        "new-framework",
        "2025/26",
    )


def test_index_mark_sets_the_lifecycle_from_the_cli(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from assistant.cli import app as cli_app
    from tests.ingest.test_pipeline import write_corpus

    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    data = ["--data-dir", str(tmp_path / "data")]
    run = CliRunner().invoke
    assert run(cli_app, ["ingest", str(write_corpus(tmp_path / "corpus")), *data]).exit_code == 0
    bad = run(cli_app, ["index", "mark", "guide.md", "--period", "soon", *data])
    assert bad.exit_code != 0 and "period" in bad.output
    done = run(
        cli_app,
        ["index", "mark", "guide.md", "--status", "withdrawn", *data],
    )
    assert done.exit_code == 0, done.output
    assert "guide.md: withdrawn" in done.output
    stats = run(cli_app, ["index", "stats", "--json", *data])
    by_doc = {d["doc_id"]: d for d in json.loads(stats.output)["by_document"]}
    assert by_doc["guide.md"]["status"] == "withdrawn"


def test_question_periods_read_years_months_and_relative_years():
    from assistant.lifecycle import question_periods

    today = date(2026, 12, 7)
    firsts = lambda q: [s[0].year for s in question_periods(q, today)]  # noqa: E731
    assert firsts("What is the agency cap for 2025/26 and 2026/27?") == [2025, 2026]
    assert firsts("Where must we be by the end of March 2027?") == [2026]
    assert firsts("What do we deliver this financial year?") == [2026]
    assert firsts("What is expected next year?") == [2027]
    assert firsts("How big a cut on last year's agency spend?") == []  # a baseline, not a period
    assert firsts("Which providers join by 2029?") == [2028]
    assert firsts("What is a neighbourhood health team?") == []
    assert firsts("Is 2026/28 a typo?") == []  # not a financial year


TWO_GUIDES = {
    "old.md": "# Planning guidance 2025/26\n\n## Agency staffing\n\nSystems must cut spending on "
    "agency staff by at least 30% against the previous year and reduce bank use by 10%.\n\n"
    "## Bank staffing\n\nTrusts must reduce their reliance on bank staff through e-rostering.\n",
    "new.md": "# Medium term framework\n\n## Agency staffing\n\nSystems must cut spending on "
    "agency staff further each year and end agency use for some staff groups by 2028/29.\n\n"
    "## Estates\n\nFrom 2026/27 estates plans are due in May.\n",
}


def _two_guides(tmp_path, **settings_kw):
    from assistant.services import build_services
    from tests.conftest import fake_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TWO_GUIDES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    manifest = tmp_path / "sources.toml"
    manifest.write_text(
        '[[source]]\nid = "old"\ntitle = "Planning guidance 2025/26"\nfiles = ["old.md"]\n'
        'period = "2025/26"\nstatus = "superseded"\nsuperseded_by = "new.md"\n\n'
        '[[source]]\nid = "new"\ntitle = "Medium term framework"\nfiles = ["new.md"]\n'
        'period = "2026/27-2028/29"\nstatus = "current"\n',
        encoding="utf-8",
    )
    settings = fake_settings(tmp_path / "data", ingest__manifest=manifest, **settings_kw)
    services = build_services(settings)
    services.ingest([corpus])
    return services


def test_retrieval_prefers_the_document_governing_the_period_asked_about(tmp_path):
    services = _two_guides(tmp_path)
    today = date(2026, 12, 7)

    def first(question: str, weight_on: bool = True) -> str:
        retriever = services.retriever
        if not weight_on:
            from assistant.retrieval.stages import PreferPeriod

            retriever = retriever.without(PreferPeriod)
        return retriever.retrieve(question, k=2, as_of=today)[0].doc_id

    question = "How much must systems cut spending on agency staff"
    assert first(f"{question} in 2025/26?") == "old.md"
    assert first(f"{question} in 2026/27?") == "new.md"
    assert first(f"{question} next year?") == "new.md"
    assert first(f"{question}?") == "new.md"  # no period: what stands today
    # A question whose words favour the superseded guidance: without the stage it comes first;
    # with it, the current framework does (no period named: what stands today).
    baseline = "How much must systems cut agency spending against the previous year?"
    assert first(baseline, False) == "old.md"
    assert first(baseline) == "new.md"
    # Superseded guidance that is all there is still answers, with its warning.
    only_old = services.asker.ask(
        AskRequest(question="What must systems do about bank use by 10%?", as_of=today),
        record=False,
    ).answer
    assert not only_old.refused and only_old.citations[0].doc_id == "old.md"
    assert only_old.citations[0].document_warning.startswith("Superseded by Medium term")


def test_the_period_weight_setting_turns_the_preference_off(tmp_path):
    services = _two_guides(tmp_path, retrieval__period_weight=0.0)
    names = [s.name for s in services.retriever.stages]
    assert "period" not in names


def test_an_ask_request_may_give_its_own_as_of_day(tmp_path):
    services = _two_guides(tmp_path)
    question = "How much must systems cut spending on agency staff?"
    during = services.asker.ask(
        AskRequest(question=question, as_of=date(2025, 10, 1)), record=False
    ).answer
    after = services.asker.ask(
        AskRequest(question=question, as_of=date(2026, 10, 1)), record=False
    ).answer
    by_doc = lambda a: {c.doc_id: c.document_warning for c in a.citations}  # noqa: E731
    assert by_doc(during).get("old.md") is not None  # superseded is said whatever the day
    assert "Medium term framework" in by_doc(after)["old.md"]


def test_an_answer_quoting_only_another_periods_guidance_says_so_first(tmp_path):
    services = _two_guides(tmp_path)
    today = date(2026, 12, 7)

    def answer(question: str) -> str:
        got = services.asker.ask(AskRequest(question=question, as_of=today), record=False).answer
        assert not got.refused
        return got.answer

    asked = "How should trusts reduce their reliance on bank staff"
    other = answer(f"{asked} next year?")
    assert other.startswith("Note: you asked about 2027/28, but the passages quoted below come")
    assert "Planning guidance 2025/26 (it covers 2025/26)" in other
    assert "Medium term framework covers 2027/28" in other.split("\n\n")[0]
    # Streamed, the note comes first too: the pieces join to the answer given.
    from assistant.schemas import DeltaEvent

    events = list(
        services.asker.stream(AskRequest(question=f"{asked} next year?", as_of=today), record=False)
    )
    streamed = "".join(e.text for e in events if isinstance(e, DeltaEvent))
    assert streamed == other
    # The period asked is the one quoted, or none is asked: no note.
    assert not answer(f"{asked} in 2025/26?").startswith("Note:")
    assert not answer(f"{asked}?").startswith("Note:")


def test_text_that_cannot_be_quoted_is_not_lifted_for_its_period():
    """A garbled passage of the right period keeps its place: lifting it would push out readable
    text the answer can quote (it is pointed to instead)."""
    from assistant.retrieval.base import RetrievalState
    from assistant.retrieval.stages import PreferPeriod
    from assistant.store.base import StoredChunk

    docs = {
        "new.md": DocumentMeta(
            doc_id="new.md", title="New", file_name="new.md", period="2026/27", status="current"
        ),
        "old.md": DocumentMeta(
            doc_id="old.md", title="Old", file_name="old.md", period="2025/26", status="unknown"
        ),
    }

    from assistant.store.catalogue import DocumentCatalogue
    from assistant.store.memory import InMemoryStore

    catalogue = DocumentCatalogue(InMemoryStore("fake", 8))
    catalogue.documents = lambda: docs  # the index's records, as the stage reads them
    stage = PreferPeriod(catalogue, 0.5)
    state = RetrievalState(question="What is the target in 2026/27?", k=3, as_of=date(2026, 12, 7))
    state.candidates = ["old-1", "new-garbled", "new-clean"]
    state.scores = {"old-1": 1.0, "new-garbled": 0.9, "new-clean": 0.8}
    state.chunks = {
        "old-1": StoredChunk("old-1", "x", {"doc_id": "old.md"}),
        "new-garbled": StoredChunk("new-garbled", "x", {"doc_id": "new.md", "garbled": True}),
        "new-clean": StoredChunk("new-clean", "x", {"doc_id": "new.md"}),
    }
    stage.run(state)
    assert state.candidates == ["new-clean", "new-garbled", "old-1"]
    assert state.scores["new-garbled"] == 0.9  # kept, not lifted
    assert state.scores["old-1"] == 0.5  # another period's: lowered


def test_asked_whether_a_named_document_still_stands_the_answer_says_first(tmp_path):
    services = _two_guides(tmp_path)
    today = date(2026, 12, 7)
    question = "Is the planning guidance 2025/26 still in force for agency staff spending?"
    got = services.asker.ask(AskRequest(question=question, as_of=today), record=False).answer
    first = got.answer.split("\n\n")[0]
    assert first.startswith("On the document you named: Planning guidance 2025/26: Superseded by")
    assert "Medium term framework" in first
    current = services.asker.ask(
        AskRequest(question="Is the medium term framework still current?", as_of=today),
        record=False,
    ).answer
    assert not current.answer.startswith("On the document")  # current: nothing to warn of
    plain = services.asker.ask(
        AskRequest(question="How much must systems cut agency spending?", as_of=today),
        record=False,
    ).answer
    assert not plain.answer.startswith("On the document")
    # Streamed, the note comes first too.
    from assistant.schemas import DeltaEvent

    events = services.asker.stream(AskRequest(question=question, as_of=today), record=False)
    assert "".join(e.text for e in events if isinstance(e, DeltaEvent)) == got.answer

"""Typed shapes shared by ingestion, retrieval, answering, the CLI, the API, the UI and eval.

Domain shapes (documents, chunks, answers, events) and the asking request and response every
surface uses. Shapes that only the HTTP API speaks (errors, feedback, health, the OpenAI
Chat Completions format) live beside it in :mod:`assistant.api.wire`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from assistant.lifecycle import period_dates

# "table": rows, one a line, cells joined by " | "; "caption": a label (a figure's or a table's
# caption, a title page's line); "footnote": a note from the foot of a page. None of the three
# is quoted as a sentence.
BlockKind = Literal["heading", "paragraph", "list_item", "table", "caption", "footnote"]


class QuarantinedPassage(BaseModel):
    """A passage held back at ingestion as planted text (see ``assistant.text.planted``): kept
    on record, never quoted, shown as evidence or sent to a language model."""

    key: str = Field(
        description="Stable id of the passage (a hash of its text): what an admin releases."
    )
    section: str = ""
    page: int | None = None
    excerpt: str = Field(description="The passage's first words, markup stripped.")
    reasons: list[str] = Field(default_factory=list)


LifecycleStatus = Literal[
    "current", "superseded", "withdrawn", "historical", "consultation/draft", "unknown"
]


class DocumentMeta(BaseModel):
    """What is known about a source document (from its content, its file, or the manifest)."""

    doc_id: str
    title: str
    file_name: str
    publisher: str | None = None
    date: str | None = None
    source_url: str | None = None
    licence: str | None = None
    themes: list[str] = Field(default_factory=list)
    sha256: str = ""
    pages: int | None = None
    # Lifecycle (assistant.lifecycle): when it was published, the period it governs ("2025/26",
    # "2026/27-2028/29"), whether it is current, and what replaces it (a document id).
    published: str | None = None
    period: str | None = None
    status: LifecycleStatus = "unknown"
    superseded_by: str | None = None
    # Lifecycle fields an admin set on the indexed document (``index mark``, PATCH
    # /v1/documents/{id}): they win over the manifest and the file when it is indexed again.
    marked: dict[str, str | None] = Field(default_factory=dict)
    # Planted passages held back at ingestion, and those an admin has released as false alarms.
    quarantined: list[QuarantinedPassage] = Field(default_factory=list)
    released: list[str] = Field(default_factory=list)


class Block(BaseModel):
    """One structural unit of a parsed document, in reading order.

    Headings carry a level (1 = top). Text blocks carry the page they start on, for PDFs and
    for conversions that still show page markers.
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None
    # Two columns interleaved line by line by the conversion (see assistant.ingest.columns):
    # the block is indexed but never quoted as a sentence.
    garbled: bool = False
    # Planted text (assistant.ingest.quarantine): left out of every chunk.
    planted: bool = False


class ParsedDocument(BaseModel):
    meta: DocumentMeta
    blocks: list[Block]


# What a chunk's text is: "text" (sentences: quotable) or "table" (a table's rows, one a line,
# cells joined by " | ": a row may be shown as a row, never quoted as a sentence).
ChunkKind = Literal["text", "table"]


class Chunk(BaseModel):
    """A retrievable passage: a piece of one section, small enough for the embedder."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    headings: list[str] = Field(default_factory=list)
    page_start: int | None = None
    page_end: int | None = None
    kind: ChunkKind = "text"
    # Column-interleaved text (assistant.ingest.columns): ``garbled`` when most of the text is;
    # ``garbled_spans``: [start, end) character offsets in ``text`` of every interleaved block.
    garbled: bool = False
    garbled_spans: list[tuple[int, int]] = Field(default_factory=list)
    # (offset in ``text``, page) where each page after ``page_start`` begins: a quote's page.
    page_breaks: list[tuple[int, int]] = Field(default_factory=list)
    # (offset, heading path) where the text passes under another heading than ``section``
    # (a short section merged with the next): a quote is cited under the heading it sits under.
    section_breaks: list[tuple[int, str]] = Field(default_factory=list)

    @property
    def section(self) -> str:
        return " > ".join(self.headings)


class RetrievedChunk(BaseModel):
    """A chunk returned by retrieval, with its document's details and its scores."""

    chunk_id: str
    doc_id: str
    title: str
    section: str = ""
    page_start: int | None = None
    page_end: int | None = None
    text: str
    publisher: str | None = None
    source_url: str | None = None
    file_name: str | None = None
    rank: int = 0
    score: float = 0.0
    dense_score: float | None = None
    bm25_score: float | None = None
    # "table": the text is a table's rows, not sentences (see ChunkKind). Indexes written
    # before chunks had a kind hold prose only: "text" is right for them.
    kind: ChunkKind = "text"
    # As on Chunk: text read across two columns by the conversion. Never quote a sentence that
    # overlaps ``garbled_spans``; cite the section and page instead.
    garbled: bool = False
    garbled_spans: list[tuple[int, int]] = Field(default_factory=list)
    # (offset in ``text``, page) where each page after ``page_start`` begins: a quote's page.
    page_breaks: list[tuple[int, int]] = Field(default_factory=list)
    section_breaks: list[tuple[int, str]] = Field(default_factory=list)

    @property
    def page(self) -> int | None:
        return self.page_start

    def section_at(self, offset: int) -> str:
        """The heading path the text at ``offset`` stands under."""
        section = self.section
        for start, path in self.section_breaks:
            if start <= offset:
                section = path
        return section

    def page_at(self, offset: int) -> int | None:
        """The page the text at ``offset`` stands on (the chunk may run over a page break)."""
        page = self.page_start
        for start, number in self.page_breaks:
            if start <= offset:
                page = number
        return page


class Citation(BaseModel):
    """A numbered source behind one or more answer sentences.

    ``quotes`` are the sentences quoted from the chunk, each a verbatim substring of
    ``chunk_text`` at ``spans`` (so a UI can highlight them); ``quote`` joins them with " … ".
    """

    n: int
    doc_id: str
    title: str
    section: str = ""
    page: int | None = None
    # The last page the quote runs onto, when it runs over a page break (else None).
    page_end: int | None = None
    # Planted passages held back from the cited document at ingestion (the passage quoted is
    # not one of them): a reason to read the document with care.
    document_quarantined: int = 0
    # The cited document is superseded, withdrawn, historical or past its period (see
    # assistant.lifecycle): what a reader must know before acting on the quote.
    document_warning: str | None = None
    quote: str
    quotes: list[str] = Field(default_factory=list)
    spans: list[tuple[int, int]] = Field(default_factory=list)
    chunk_id: str
    chunk_text: str
    score: float = 0.0
    source_url: str | None = None
    publisher: str | None = None


class AnswerSentence(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list)
    supported: bool | None = Field(
        None,
        description="Generated answers: whether the cited passages support the sentence "
        "(None: not checked, e.g. quoted verbatim or a statement of what the passages lack).",
    )


class Answer(BaseModel):
    """What every surface shows: the answer text with [n] markers, and the evidence behind it."""

    question: str
    answer: str
    refused: bool = False
    mode: Literal["extractive", "llm", "extractive-fallback"] = "extractive"
    sentences: list[AnswerSentence] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    evidence_score: float = 0.0
    timings_ms: dict[str, float] = Field(default_factory=dict)
    removed: int = Field(
        0,
        description="Generated sentences removed because their cited passages do not support them.",
    )
    removed_sentences: list[AnswerSentence] = Field(
        default_factory=list, description="Those sentences, with the citations they gave."
    )
    dropped_citations: int = Field(
        0, description="Citation markers removed because they named no passage given."
    )
    fallback_reason: str | None = Field(
        None, description="Why an 'extractive-fallback' answer replaced the generated one."
    )
    draft: str | None = Field(None, description="The generated text before the grounding check.")
    standalone_question: str | None = Field(
        None, description="The follow-up question rewritten to stand alone, when it was."
    )


class SourcesEvent(BaseModel):
    """First event of an answer stream: what retrieval found, before any answer text."""

    type: Literal["sources"] = "sources"
    retrieved: list[RetrievedChunk] = Field(default_factory=list)


class DeltaEvent(BaseModel):
    """A piece of answer text as it is produced: a token from an LLM, a sentence when extractive.

    The pieces joined give the text as written; the final event's ``Answer.answer`` is the text
    after the grounding check, which may have removed sentences.
    """

    type: Literal["delta"] = "delta"
    text: str


class FinalEvent(BaseModel):
    """Last event of an answer stream: the checked answer with its citations."""

    type: Literal["final"] = "final"
    answer: Answer


AnswerEvent = SourcesEvent | DeltaEvent | FinalEvent


class Filters(BaseModel):
    """Metadata filters for retrieval; every given field must match."""

    doc_ids: list[Text] | None = None
    publishers: list[Text] | None = None
    themes: list[str] | None = None

    def is_empty(self) -> bool:
        return not (self.doc_ids or self.publishers or self.themes)


class FileOutcome(BaseModel):
    path: str
    doc_id: str | None = None
    status: Literal["indexed", "updated", "unchanged", "failed", "removed"]
    chunks: int = 0
    embedded: int = 0
    reason: str | None = None
    seconds: float = 0.0
    quarantined: int = 0  # planted passages held back


class IngestReport(BaseModel):
    files: list[FileOutcome] = Field(default_factory=list)
    pruned: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    # Seconds per stage: "read" (parse and screen, in the background beside embedding),
    # "read_wait" (time the run waited for a read), "chunk", "embed", "store", "bm25".
    stage_seconds: dict[str, float] = Field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.files)

    @property
    def embedded(self) -> int:
        return sum(f.embedded for f in self.files)


# ============================================================================================
# Asking: the request every surface sends and the response every surface reports (the API's
# JSON, the CLI's --json, the page, eval). HTTP-only and OpenAI shapes live in assistant/api/wire.py.

ChatRole = Literal["system", "developer", "user", "assistant", "tool"]

# Text from outside (a question, a message, a comment, a filter value). A lone surrogate
# (U+D800-U+DFFF) is not Unicode text at all: it cannot be stored, logged or encoded as UTF-8,
# so it is refused (422, the field named). Control characters other than tab and line breaks
# (NUL, ESC, DEL, C1) carry no meaning in a question and can upset terminals and logs, so they
# are cleaned to spaces.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """``value`` with control characters made spaces; raises ValueError on invalid Unicode."""
    if m := _LONE_SURROGATE.search(value):
        raise ValueError(
            f"contains invalid Unicode (a lone surrogate, U+{ord(m.group(0)):04X}, at character "
            f"{m.start()}): send UTF-8 text"
        )
    return _CONTROL.sub(" ", value)


Text = Annotated[str, AfterValidator(clean_text)]


class ChatMessage(BaseModel):
    """One turn of a conversation."""

    role: ChatRole
    content: Text


class AskRequest(BaseModel):
    """A question for ``POST /v1/ask`` and ``POST /v1/ask/stream``."""

    model_config = ConfigDict(extra="forbid")

    question: Text = Field(
        description="The question (the same limits as the command line: not empty, at most "
        "answer.max_question_chars characters).",
        examples=["How do I set up a neighbourhood health team?"],
    )
    history: list[ChatMessage] = Field(
        default_factory=list,
        max_length=50,
        description="Earlier turns, oldest first. The extractive answerer does not use them; "
        "the LLM mode reads them for context.",
    )
    filters: Filters | None = Field(None, description="Only passages matching every filter.")
    mode: Literal["extractive", "llm"] | None = Field(
        None, description="Answering mode; default the server's (answer.mode)."
    )
    as_of: date | None = Field(
        None,
        description="Answer as of this day (YYYY-MM-DD): which guidance is current, what 'this "
        "year' means, and which citations carry a lifecycle warning. Default: the server's "
        "answer.as_of, else today.",
    )


class RetrieveRequest(BaseModel):
    """A question for ``POST /v1/retrieve``: ranked passages, no answer."""

    model_config = ConfigDict(extra="forbid")

    question: Text = Field(
        description="What to search for (the same limits as a question to /v1/ask).",
        examples=["neighbourhood health team core members"],
    )
    k: int = Field(10, ge=1, le=50, description="How many passages to return, best first.")
    filters: Filters | None = Field(None, description="Only passages matching every filter.")


class Passage(BaseModel):
    """A ranked passage with everything needed to cite it."""

    rank: int = Field(description="1 for the best match.")
    chunk_id: str
    doc_id: str
    title: str
    section: str = Field("", description="Heading path of the passage's start.")
    page_start: int | None = None
    page_end: int | None = None
    publisher: str | None = None
    source_url: str | None = Field(None, description="The publisher's copy, when known.")
    score: float = Field(description="Fused retrieval score; higher is better.")
    kind: ChunkKind = Field("text", description='"table": rows of a table, not sentences.')
    garbled: bool = Field(
        False,
        description="Part of the text was read across two columns by the conversion: check "
        "the original before quoting it.",
    )
    text: str


class RetrieveResponse(BaseModel):
    question: str
    passages: list[Passage]


class CitationInfo(BaseModel):
    """A numbered source as the API returns it (the text marks it [n])."""

    n: int
    doc_id: str
    title: str
    section: str = ""
    page: int | None = None
    # The last page the quote runs onto, when it runs over a page break (else None).
    page_end: int | None = None
    # Planted passages held back from the cited document at ingestion (the passage quoted is
    # not one of them): a reason to read the document with care.
    document_quarantined: int = 0
    # The cited document is superseded, withdrawn, historical or past its period (see
    # assistant.lifecycle): what a reader must know before acting on the quote.
    document_warning: str | None = None
    quote: str
    quotes: list[str] = Field(default_factory=list)
    source_url: str | None = None
    publisher: str | None = None
    chunk_id: str


class GroundingSummary(BaseModel):
    """How the answer was checked against its sources."""

    sentences: int = Field(description="Sentences in the answer.")
    removed: int = Field(0, description="Sentences dropped because no source supported them.")
    unsupported: int = Field(
        0,
        description="Sentences kept but marked as not supported by their sources "
        "(llm.on_unsupported = 'mark').",
    )
    dropped_citations: int = Field(
        0, description="Citation markers dropped because they named no passage given."
    )
    verified: bool = Field(
        description="Extractive: every quote was found verbatim in its cited passage. "
        "Generated: every sentence left is supported by its cited passages."
    )
    fallback_reason: str | None = Field(
        None,
        description="Why the generated answer was replaced by the extractive one (mode "
        "'extractive-fallback').",
    )


class AskResponse(BaseModel):
    """An answer with its citations; ``answer_id`` is what feedback refers to."""

    answer_id: str
    answer: str
    refused: bool
    mode: str
    citations: list[CitationInfo]
    evidence_score: float
    grounding: GroundingSummary
    standalone_question: str | None = Field(
        None, description="A follow-up question as rewritten to stand alone, when it was."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)


class DocumentInfo(BaseModel):
    """One indexed document."""

    doc_id: str
    title: str
    file_name: str
    publisher: str | None = None
    date: str | None = None
    source_url: str | None = None
    licence: str | None = None
    themes: list[str] = Field(default_factory=list)
    pages: int | None = None
    published: str | None = None
    period: str | None = Field(None, description='The years it governs, e.g. "2025/26".')
    status: LifecycleStatus = "unknown"
    superseded_by: str | None = Field(None, description="The document id that replaces it.")
    marked: dict[str, str | None] = Field(
        default_factory=dict,
        description="Lifecycle fields an admin set (PATCH /v1/documents/{doc_id}); they win "
        "over the manifest when the document is indexed again.",
    )
    chunks: int
    indexed_at: str = ""
    quarantined: list[QuarantinedPassage] = Field(
        default_factory=list,
        description="Passages held back as planted text: never quoted or shown as evidence.",
    )
    released: list[str] = Field(
        default_factory=list, description="Keys of passages an admin released as false alarms."
    )


class UploadMetadata(BaseModel):
    """What an uploader may say about a document (``POST /v1/documents`` form fields); each
    wins over what the file says about itself and is shown in citations."""

    # "ignore": the multipart form also carries the file itself.
    model_config = ConfigDict(extra="ignore")

    title: Text | None = Field(None, min_length=1, max_length=300)
    publisher: Text | None = Field(None, min_length=1, max_length=200)
    date: str | None = Field(
        None,
        pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
        description="Publication date: YYYY-MM-DD, YYYY-MM or YYYY.",
    )
    source_url: str | None = Field(
        None,
        max_length=2000,
        pattern=r"^https?://[^\s<>\"]+$",
        description="The publisher's copy (http or https).",
    )
    licence: Text | None = Field(None, min_length=1, max_length=100)
    period: Text | None = Field(
        None, min_length=1, max_length=40, description='The years it governs, e.g. "2025/26".'
    )
    status: LifecycleStatus | None = Field(None, description="Whether it still stands.")
    superseded_by: Text | None = Field(
        None, min_length=1, max_length=200, description="The document id that replaces it."
    )

    def overrides(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


def _period_or_unknown(value: str | None) -> str | None:
    if value is None or value.strip().lower() == "unknown" or period_dates(value) is not None:
        return value.strip() if value else value
    raise ValueError(
        'give the years it governs as "2025/26", "2026/27-2028/29", "2025" or "2025-2035", '
        'or "unknown"'
    )


class LifecycleUpdate(BaseModel):
    """An admin's word on an indexed document's lifecycle (``PATCH /v1/documents/{doc_id}``,
    ``nhs-assistant index mark``): applied at once, without indexing it again, and kept when it
    is indexed again. Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    status: LifecycleStatus | None = Field(None, description="Whether it still stands.")
    superseded_by: Text | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The document id that replaces it (it need not be indexed).",
    )
    period: Annotated[Text, AfterValidator(_period_or_unknown)] | None = Field(
        None, max_length=40, description='The years it governs, e.g. "2025/26", or "unknown".'
    )
    published: str | None = Field(
        None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY-MM-DD, YYYY-MM or YYYY."
    )

    def changes(self) -> dict[str, str | None]:
        """The fields given: a value sets one, an explicit null clears it (a wrong successor,
        a period no longer known); the status can be set, not cleared ("unknown")."""
        given = self.model_dump(exclude_unset=True)
        return {k: v for k, v in given.items() if v is not None or k != "status"}


class UploadResponse(BaseModel):
    """What indexing an uploaded file did."""

    doc_id: str
    file_name: str
    status: Literal["indexed", "updated", "unchanged"]
    chunks: int
    embedded: int
    seconds: float


class CitationDetail(CitationInfo):
    """A citation with its whole passage and retrieval score (the CLI's ``--json``, eval)."""

    chunk_text: str
    score: float = 0.0


class RetrievedInfo(BaseModel):
    """A ranked passage as reported with a detailed answer."""

    rank: int
    doc_id: str
    title: str
    section: str = ""
    page: int | None = None
    chunk_id: str
    chunk_text: str
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    source_url: str | None = None


class AskDetail(AskResponse):
    """An answer with what a developer or an evaluator reads besides: the question, the ranked
    passages, each citation's passage, the sentences and what the grounding check removed."""

    question: str
    citations: list[CitationDetail]  # type: ignore[assignment]
    retrieved: list[RetrievedInfo] = Field(default_factory=list)
    sentences: list[AnswerSentence] = Field(default_factory=list)
    removed: int = 0
    removed_sentences: list[AnswerSentence] = Field(default_factory=list)
    dropped_citations: int = 0
    fallback_reason: str | None = None

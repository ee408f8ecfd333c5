"""Typed shapes shared by ingestion, retrieval, answering, the CLI, the API, the UI and eval."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

BlockKind = Literal["heading", "paragraph", "list_item", "table"]


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


class Block(BaseModel):
    """One structural unit of a parsed document, in reading order.

    Headings carry a level (1 = top). Text blocks carry the page they start on, for PDFs and
    for conversions that still show page markers.
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None


class ParsedDocument(BaseModel):
    meta: DocumentMeta
    blocks: list[Block]


class Chunk(BaseModel):
    """A retrievable passage: a piece of one section, small enough for the embedder."""

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    headings: list[str] = Field(default_factory=list)
    page_start: int | None = None
    page_end: int | None = None

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

    @property
    def page(self) -> int | None:
        return self.page_start


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


class Filters(BaseModel):
    """Metadata filters for retrieval; every given field must match."""

    doc_ids: list[str] | None = None
    publishers: list[str] | None = None
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


class IngestReport(BaseModel):
    files: list[FileOutcome] = Field(default_factory=list)
    pruned: list[str] = Field(default_factory=list)
    seconds: float = 0.0

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

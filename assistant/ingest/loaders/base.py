"""What a format loader is: the ``Loader`` protocol, and the base class the built-in ones share.

One loader per file format, as haystack has one converter component per format. A loader
names its extensions and answers two questions detection asks about the content
(:meth:`Loader.sniff`, :meth:`Loader.check`); :meth:`Loader.load` turns the bytes into a
:class:`~assistant.schemas.ParsedDocument`. The registry (:mod:`.registry`) holds the loaders;
every list of supported extensions is derived from it.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from assistant.errors import DocumentError
from assistant.ingest.loaders.decoding import decode_text
from assistant.ingest.loaders.furniture import mark_cover
from assistant.ingest.loaders.metadata import apply_overrides
from assistant.schemas import Block, DocumentMeta, ParsedDocument

__all__ = ["HEAD_CHARS", "Draft", "DraftLoader", "Loader", "Precedence", "Sample"]

HEAD_CHARS = 512  # decoded characters a text format's sniff looks at


class Precedence(IntEnum):
    """When detection asks a loader about a file named as another format (lowest first)."""

    BINARY = 0  # magic bytes in the raw data: asked before anything is decoded
    MARKUP = 1  # text recognised by how it starts once decoded (an HTML doctype)
    PLAIN = 2  # text known by its extension only: never claims another format's file


@dataclass
class Sample:
    """A file's content as detection sees it: the raw bytes, and the decoded head on demand."""

    data: bytes
    ext: str  # lower-case, with the dot

    @cached_property
    def head(self) -> str:
        """The first characters of the decoded text, lower-case, leading blanks dropped.

        Raises DocumentError when the bytes are not text (see :func:`.decode_text`).
        """
        return decode_text(self.data)[:HEAD_CHARS].lstrip().lower()


@dataclass
class Draft:
    """What a loader found in a file, before the manifest and the file's hash are applied."""

    blocks: list[Block]
    title: str | None = None
    date: str | None = None
    publisher: str | None = None
    pages: int | None = None


@runtime_checkable
class Loader(Protocol):
    """Reads one file format into a ParsedDocument.

    Detection (:meth:`.LoaderRegistry.detect`) asks the loaders in order of ``precedence``:
    the loader that owns the file's extension gets ``check`` (refuse content that cannot be
    its format); every loader before it gets ``sniff`` (does the content carry my signature,
    whatever the name says?). A sniffed file is read by that loader, or refused with its
    ``mislabelled`` message when it has one.
    """

    @property
    def kind(self) -> str:
        """A short name for the format ("pdf"), unique in a registry."""
        ...

    @property
    def extensions(self) -> tuple[str, ...]:
        """Lower-case, with the dot; the first is the one shown in help texts."""
        ...

    @property
    def precedence(self) -> Precedence: ...

    @property
    def mislabelled(self) -> str | None:
        """The refusal for sniffed content behind another format's extension ("{ext}" is that
        extension), or None to read such a file as this format."""
        ...

    @property
    def parser_modules(self) -> tuple[str, ...]:
        """Modules the parser imports, loaded ahead in the parsing processes."""
        ...

    @property
    def slow_to_read(self) -> bool:
        """Whether reading takes seconds per page (a PDF's layout): ingestion reads these files
        behind the quicker ones, while the quicker ones are embedded."""
        ...

    def sniff(self, sample: Sample) -> bool:
        """Whether the content carries this format's signature, whatever the file's name."""
        ...

    def check(self, sample: Sample) -> None:
        """For a file named as this format: raise DocumentError if the content cannot be it."""
        ...

    def load(
        self, data: bytes, file_name: str, doc_id: str, overrides: Mapping[str, Any] | None = None
    ) -> ParsedDocument:
        """The document: metadata plus blocks in reading order; DocumentError if unreadable."""
        ...


class DraftLoader(ABC):
    """A Loader whose subclasses write only ``parse``: the shared ``load`` refuses a file with
    no text, builds the metadata (title falling back to the file name, the content's hash),
    lets the manifest's values win, and marks a title page's lines as captions (never quoted).

    A new format is one subclass, registered (see :mod:`.registry`):

    >>> class CsvLoader(DraftLoader):
    ...     kind, extensions = "csv", (".csv",)
    ...
    ...     def parse(self, data: bytes, file_name: str) -> Draft:
    ...         return Draft(blocks=[Block(kind="table", text=decode_text(data))])
    """

    kind: str = ""
    extensions: tuple[str, ...] = ()
    precedence: Precedence = Precedence.PLAIN
    mislabelled: str | None = None
    parser_modules: tuple[str, ...] = ()
    slow_to_read: bool = False
    no_text_message = "no text found in the document"

    def sniff(self, sample: Sample) -> bool:
        """No signature by default: the file is known by its extension."""
        return False

    def check(self, sample: Sample) -> None:
        """Any content is accepted by default (decoding refuses what is not text)."""
        return None

    @abstractmethod
    def parse(self, data: bytes, file_name: str) -> Draft:
        """Blocks in reading order and what the file says about itself."""

    def load(
        self, data: bytes, file_name: str, doc_id: str, overrides: Mapping[str, Any] | None = None
    ) -> ParsedDocument:
        draft = self.parse(data, file_name)
        if not any(b.kind != "heading" and b.text.strip() for b in draft.blocks):
            raise DocumentError(self.no_text_message)
        meta = DocumentMeta(
            doc_id=doc_id,
            title=(draft.title or "").strip() or Path(file_name).stem,
            file_name=file_name,
            publisher=draft.publisher,
            date=draft.date,
            sha256=hashlib.sha256(data).hexdigest(),
            pages=draft.pages,
        )
        blocks = mark_cover(draft.blocks)
        return ParsedDocument(meta=apply_overrides(meta, overrides), blocks=blocks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.extensions)})"

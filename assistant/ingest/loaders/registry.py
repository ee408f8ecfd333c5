"""The loader registry: which formats the assistant reads, and which loader reads a given file.

Every list of supported extensions (the pipeline's file check, the CLI's help, the API's
upload check and its documentation, the download check in :mod:`assistant.ingest.fetch`) is
derived from one registry, so a new format is one :class:`.Loader` class added to
:func:`builtin_loaders`.

Detection asks the loaders in order of :class:`.Precedence`, registration order breaking ties;
the built-in order gives PDF, Word, HTML, then Markdown and plain text, which is what makes a
mislabelled file either read correctly or refused with a clear message:

>>> default_registry.extensions()
('.md', '.markdown', '.txt', '.html', '.htm', '.pdf', '.docx')
>>> detect_kind(b"%PDF-1.7 ...", "report.txt")
'pdf'

A loader registered at run time (``default_registry.register(CsvLoader())``) is seen by this
process only: files the pipeline parses in a child process (``isolate_parsing``) see the
built-in list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from assistant.errors import DocumentError
from assistant.ingest.loaders.base import Loader, Precedence, Sample
from assistant.ingest.loaders.docx import DocxLoader
from assistant.ingest.loaders.html import HtmlLoader
from assistant.ingest.loaders.markdown import MarkdownLoader
from assistant.ingest.loaders.pdf import PdfLoader
from assistant.ingest.loaders.text import TextLoader
from assistant.schemas import ParsedDocument

__all__ = [
    "LoaderRegistry",
    "builtin_loaders",
    "default_registry",
    "detect_kind",
    "load_bytes",
    "load_document",
    "supported_extensions",
]

AnyLoader = TypeVar("AnyLoader", bound=Loader)


class LoaderRegistry:
    """Loaders by format, in the order help texts list them.

    >>> registry = LoaderRegistry([MarkdownLoader(), PdfLoader()])
    >>> registry.describe(last=" or ")
    '.md or .pdf'
    >>> registry.detect(b"# Notes", "notes.md").kind
    'markdown'
    """

    def __init__(self, loaders: Iterable[Loader] = ()) -> None:
        self._loaders: list[Loader] = []
        for loader in loaders:
            self.register(loader)

    # -- membership -----------------------------------------------------------------------

    def register(self, loader: AnyLoader) -> AnyLoader:
        """Add a loader; ValueError if its kind or one of its extensions is taken or malformed."""
        if not isinstance(loader, Loader):
            raise TypeError(f"{loader!r} does not implement the Loader protocol")
        if not loader.kind or any(known.kind == loader.kind for known in self._loaders):
            raise ValueError(f"a loader needs a unique kind; {loader.kind!r} is empty or taken")
        if not loader.extensions:
            raise ValueError(f"the {loader.kind} loader names no extension")
        for ext in loader.extensions:
            if len(ext) < 2 or not ext.startswith(".") or ext != ext.lower():
                raise ValueError(f"extension {ext!r} must be lower-case and start with a dot")
            owner = self.for_extension(ext)
            if owner is not None:
                raise ValueError(f"{ext} is already read by the {owner.kind} loader")
        self._loaders.append(loader)
        return loader

    def unregister(self, kind: str) -> Loader:
        """Remove and return the loader for ``kind`` (KeyError if there is none)."""
        loader = self.get(kind)
        self._loaders.remove(loader)
        return loader

    @property
    def loaders(self) -> tuple[Loader, ...]:
        return tuple(self._loaders)

    def get(self, kind: str) -> Loader:
        for loader in self._loaders:
            if loader.kind == kind:
                return loader
        known = ", ".join(loader.kind for loader in self._loaders)
        raise KeyError(f"no loader for {kind!r}; registered: {known}")

    def for_extension(self, ext: str) -> Loader | None:
        """The loader that owns an extension (".PDF" is ".pdf"), or None."""
        ext = ext.lower()
        return next((loader for loader in self._loaders if ext in loader.extensions), None)

    # -- the lists every surface shows ------------------------------------------------------

    def extensions(self, *kinds: str) -> tuple[str, ...]:
        """Every supported extension in registration order, or only those of ``kinds``."""
        chosen = [self.get(kind) for kind in kinds] if kinds else self._loaders
        return tuple(ext for loader in chosen for ext in loader.extensions)

    def text_extensions(self) -> tuple[str, ...]:
        """Extensions of the formats that are text (decoded before they are read)."""
        return tuple(
            ext
            for loader in self._loaders
            if loader.precedence is not Precedence.BINARY
            for ext in loader.extensions
        )

    def describe(self, last: str = " ") -> str:
        """Each format's main extension, for prose: ".md .txt .html .pdf .docx", or with
        ``last=" or "`` ".md .txt .html .pdf or .docx"."""
        main = [loader.extensions[0] for loader in self._loaders]
        return last.join([" ".join(main[:-1]), main[-1]]) if len(main) > 1 else "".join(main)

    def parser_modules(self) -> list[str]:
        """The modules the parsers import, each once, in detection order."""
        modules: list[str] = []
        for loader in self.detection_order():
            modules.extend(m for m in loader.parser_modules if m not in modules)
        return modules

    def slow_to_read(self, path: Path) -> bool:
        """Whether the loader of ``path``'s extension reads slowly (by name: a file is not
        opened to schedule it; a PDF named .txt is read in the quick ones' turn)."""
        loader = self.for_extension(path.suffix)
        return bool(getattr(loader, "slow_to_read", False))

    # -- detection and loading ------------------------------------------------------------

    def detection_order(self) -> list[Loader]:
        """Loaders by precedence; registration order within one precedence (a stable sort)."""
        return sorted(self._loaders, key=lambda loader: loader.precedence)

    def detect(self, data: bytes, file_name: str) -> Loader:
        """The loader that reads the file, from its content as well as its extension.

        The content decides where it is unambiguous (a PDF or a zip), so a mislabelled file
        is either read correctly or refused with a clear message (DocumentError).
        """
        ext = Path(file_name).suffix.lower()
        owner = self.for_extension(ext)
        if owner is None:
            shown = ext or "(no extension)"
            raise DocumentError(
                f"unsupported file type {shown}: use one of {', '.join(self.extensions())}"
            )
        if not data.strip():
            raise DocumentError("empty file")
        sample = Sample(data, ext)
        for loader in self.detection_order():
            if loader is owner:
                loader.check(sample)
                return loader
            if loader.sniff(sample):
                if loader.mislabelled is None:
                    return loader
                raise DocumentError(loader.mislabelled.format(ext=ext))
        raise AssertionError("unreachable: the owner is in the detection order")

    def load_bytes(
        self, data: bytes, file_name: str, doc_id: str, overrides: Mapping[str, Any] | None = None
    ) -> ParsedDocument:
        """Parse a file's bytes; ``file_name`` gives the extension and the fallback title."""
        return self.detect(data, file_name).load(data, file_name, doc_id, overrides)

    def load_document(
        self, path: Path, doc_id: str, overrides: Mapping[str, Any] | None = None
    ) -> ParsedDocument:
        """Read one file of a registered format into a ParsedDocument."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise DocumentError(f"cannot read the file: {exc.strerror or exc}") from exc
        return self.load_bytes(data, Path(path).name, doc_id, overrides)


def builtin_loaders() -> list[Loader]:
    """The formats the assistant reads, in the order help texts list them. A new format is a
    new Loader class added here."""
    return [MarkdownLoader(), TextLoader(), HtmlLoader(), PdfLoader(), DocxLoader()]


default_registry = LoaderRegistry(builtin_loaders())


def supported_extensions() -> tuple[str, ...]:
    """Every extension the default registry reads (".md", ".markdown", ".txt", ...)."""
    return default_registry.extensions()


def detect_kind(data: bytes, file_name: str) -> str:
    """Which loader reads the file: 'pdf', 'docx', 'html', 'markdown' or 'text' (built-ins).

    The content decides where it is unambiguous (a PDF or a zip), so a mislabelled file is
    either read correctly or refused with a clear message.
    """
    return default_registry.detect(data, file_name).kind


def load_document(
    path: Path, doc_id: str, overrides: Mapping[str, Any] | None = None
) -> ParsedDocument:
    """Read one file (any registered format: see :func:`supported_extensions`)."""
    return default_registry.load_document(path, doc_id, overrides)


def load_bytes(
    data: bytes, file_name: str, doc_id: str, overrides: Mapping[str, Any] | None = None
) -> ParsedDocument:
    """Parse a file's bytes; ``file_name`` gives the extension and the fallback title."""
    return default_registry.load_bytes(data, file_name, doc_id, overrides)

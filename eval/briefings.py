"""Checks for the project's own briefings (``corpus/briefings/*.md``).

A briefing is Markdown in the project's own words. Every factual sentence ends with a citation
marker ``[src: <source id>, <section heading or "p. N">]`` naming an entry of
``corpus/sources.toml``. This module:

* parses a briefing into sentences with their citations (:func:`parse_briefing`), after
  stripping the front matter, headings and Markdown emphasis;
* finds the passages a citation points at (:class:`SourceLibrary`): the cited document is read
  from the shared corpus with :func:`assistant.ingest.loaders.load_document`, chunked with a
  whitespace word counter, and the chunks of the cited section (the heading path contains the
  locator, case- and punctuation-insensitive) or page are returned. A locator that matches
  nothing falls back to the passages with the highest word overlap with the sentence, and is
  reported as unmatched;
* finds runs of :data:`NGRAM` or more words shared with a corpus document
  (:class:`CopyIndex`), the "own words" check.

The tests in ``tests/corpus/test_briefings.py`` drive these functions.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.text.sentences import sentence_spans

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BRIEFINGS_DIR = PROJECT_ROOT / "corpus" / "briefings"
MANIFEST = PROJECT_ROOT / "corpus" / "sources.toml"

REQUIRED_SECTIONS = (
    "The problem as frontline leaders meet it",
    "What the plan and guidance expect",
    "Practical actions",
    "Where to read more",
)
REQUIRED_FRONT_MATTER = ("title", "theme", "date", "publisher", "licence", "sources")
ACTIONS_SECTION = "Practical actions"
READING_SECTION = "Where to read more"

# Words that mark a sentence as a claim about what a source says or requires.
CLAIM_TRIGGER = re.compile(r"\d|\b(?:must|should|will|expect\w*|requir\w*)\b", re.IGNORECASE)
# Openers that mark a sentence as the project's own advice (no citation needed).
ADVICE_OPENERS = (
    "consider ",
    "we suggest ",
    "we recommend ",
    "in our view",
    "our advice ",
    "our suggestion ",
)

NGRAM = 8
# Passages of a cited section passed to the verifier: all of them when there are no more than
# this, else the ones with the most word overlap with the sentence. A long section would
# otherwise let a sentence be "supported" by words scattered across many pages.
MAX_SECTION_PASSAGES = 5
FALLBACK_PASSAGES = 3

_MARKER = re.compile(r"\[src:\s*([A-Za-z0-9][\w.-]*)\s*,\s*([^\]]+?)\s*\]")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_EMPHASIS = re.compile(r"\*\*|__|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])|`")
_WORD = re.compile(r"[a-z0-9]+")
_PAGE = re.compile(r"^pp?\.?\s*(\d+)(?:\s*[-\u2013]\s*(\d+))?$", re.IGNORECASE)


# ============================================================================================
# Parsing a briefing


@dataclass(frozen=True)
class Citation:
    source_id: str
    locator: str

    def __str__(self) -> str:
        return f"[src: {self.source_id}, {self.locator}]"


@dataclass
class BriefingSentence:
    text: str  # plain text, citation markers and Markdown emphasis removed
    citations: list[Citation]
    section: str  # the "## " heading above the sentence ("" before the first one)
    line: int  # 1-based line in the file (front matter included)
    list_item: bool = False

    @property
    def needs_citation(self) -> bool:
        """A claim-like sentence (a number, must/should/will/expect/require) that is not advice
        (nor an entry of the reading list, which names documents)."""
        if self.section == READING_SECTION:
            return False
        return bool(CLAIM_TRIGGER.search(self.text)) and not self.is_advice

    @property
    def is_advice(self) -> bool:
        """The project's own recommendation: a practical action, or a sentence opening with
        "Consider", "We suggest", "We recommend"..."""
        if self.section == ACTIONS_SECTION and not self.citations:
            return True
        low = self.text.lower().lstrip("\"'\u201c(")
        return low.startswith(ADVICE_OPENERS)


@dataclass
class Briefing:
    path: Path
    front_matter: dict[str, Any]
    title: str
    sections: list[str]  # "## " headings in order
    sentences: list[BriefingSentence]
    body: str  # the Markdown after the front matter

    @property
    def cited(self) -> list[BriefingSentence]:
        return [s for s in self.sentences if s.citations]

    def word_count(self) -> int:
        """Words of running text: the body without citation markers or Markdown syntax."""
        text = _MARKER.sub(" ", self.body)
        text = re.sub(r"^#+\s+", "", text, flags=re.MULTILINE)
        return len(re.findall(r"[A-Za-z0-9£%'\u2019/.-]*[A-Za-z0-9]", text))


def split_front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    """The ``---`` front matter as a dict (``key: value`` lines; ``key:`` followed by ``- item``
    lines gives a list), the body after it, and the number of lines the front matter took."""
    m = re.match(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*\n", text, re.DOTALL)
    if not m:
        return {}, text, 0
    meta: dict[str, Any] = {}
    current: str | None = None
    for line in m.group(1).split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and current is not None:
            if not isinstance(meta.get(current), list):
                meta[current] = []
            meta[current].append(item.group(1).strip().strip("\"'"))
            continue
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z_][\w-]*", key.strip()):
            current = key.strip().lower()
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                meta[current] = [
                    v.strip().strip("\"'") for v in value[1:-1].split(",") if v.strip()
                ]
            else:
                meta[current] = value.strip("\"'") if value else []
    return meta, text[m.end() :], m.group(0).count("\n")


def _clean_inline(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph or list item, split by the project's one sentence splitter; a
    citation marker after the full stop stays with the sentence before it."""
    # Markers are blanked (same length, so offsets hold) for the splitter, which would read
    # "[src: a, p. 4]" as text; each sentence then runs to where the next one starts, taking the
    # markers between them along.
    blanked = _MARKER.sub(lambda m: " " * len(m.group(0)), text)
    starts = [start for start, _ in sentence_spans(blanked)]
    bounds = [0, *starts[1:], len(text)]
    pieces = (text[a:b].strip() for a, b in itertools.pairwise(bounds))
    return [p for p in pieces if re.search(r"[A-Za-z0-9]", p)]


def strip_markers(sentence: str) -> tuple[str, list[Citation]]:
    """A sentence without its citation markers, and the markers as citations."""
    cites = [Citation(m.group(1), m.group(2).strip()) for m in _MARKER.finditer(sentence)]
    text = _MARKER.sub("", sentence)
    text = re.sub(r"\s+([.,;:!?)])", r"\1", text)
    return _clean_inline(text), cites


def _units(body: str, offset: int) -> Iterator[tuple[str, str, int, bool]]:
    """(kind, text, line, list_item) for each heading, paragraph and list item of the body."""
    buf: list[str] = []
    buf_line = 0
    buf_item = False

    def flush() -> Iterator[tuple[str, str, int, bool]]:
        nonlocal buf
        if buf:
            yield "text", " ".join(x.strip() for x in buf), buf_line, buf_item
        buf = []

    for i, line in enumerate(body.split("\n"), start=offset + 1):
        if not line.strip():
            yield from flush()
            continue
        h = _HEADING.match(line)
        if h:
            yield from flush()
            yield f"h{len(h.group(1))}", h.group(2), i, False
            continue
        item = _LIST_ITEM.match(line)
        if item:
            yield from flush()
            buf, buf_line, buf_item = [line[item.end() :]], i, True
            continue
        if not buf:
            buf_line, buf_item = i, False
        buf.append(line)
    yield from flush()


def parse_briefing(path: Path | str, text: str | None = None) -> Briefing:
    """Read a briefing: front matter, title, "## " sections and sentences with citations."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if text is None else text
    meta, body, fm_lines = split_front_matter(text)
    title = ""
    sections: list[str] = []
    section = ""
    sentences: list[BriefingSentence] = []
    for kind, unit, line, is_item in _units(body, fm_lines):
        if kind == "h1":
            title = title or _clean_inline(unit)
            continue
        if kind.startswith("h"):
            if kind == "h2":
                section = _clean_inline(unit)
                sections.append(section)
            continue
        for raw in split_sentences(unit):
            plain, cites = strip_markers(raw)
            if plain or cites:
                sentences.append(BriefingSentence(plain, cites, section, line, is_item))
    return Briefing(path, meta, title, sections, sentences, body)


def briefing_paths(directory: Path = BRIEFINGS_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("*.md") if p.name.lower() != "readme.md")


# ============================================================================================
# The manifest and the cited documents


def load_manifest(path: Path = MANIFEST) -> dict[str, dict[str, Any]]:
    """``[[source]]`` entries of sources.toml by id."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {s["id"]: s for s in data.get("source", [])}


def source_file(source: dict[str, Any], corpus_dir: Path) -> Path | None:
    """The local file of a source in ``corpus_dir``: the Markdown rendering when there is one
    (it keeps headings), else the first listed file that exists."""
    from assistant.ingest.loaders import default_registry

    files = [corpus_dir / f for f in source.get("files", [])]
    present = [f for f in files if f.is_file()]
    markdown = default_registry.extensions("markdown")
    for f in present:
        if f.suffix.lower() in markdown:
            return f
    return present[0] if present else None


def normalise(text: str) -> str:
    """Lower-case words joined by single spaces (for locator matching)."""
    return " ".join(_WORD.findall(text.lower().replace("\u2019", "'")))


def word_set(text: str) -> set[str]:
    from assistant.text import STOP_WORDS

    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 1}


@dataclass
class Passage:
    text: str
    section: str
    page_start: int | None = None
    page_end: int | None = None


@dataclass
class CitedPassages:
    citation: Citation
    passages: list[Passage]
    matched: bool  # False: the locator matched no section or page; passages are the fallback
    candidates: int = 0  # passages in the matched section or page before ranking

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.passages]


@dataclass
class SourceDocument:
    source_id: str
    path: Path
    passages: list[Passage]
    full_text: str  # every block of the parsed document, references included
    sections: list[str] = field(default_factory=list)

    def _ranked(self, passages: list[Passage], sentence: str, k: int) -> list[Passage]:
        want = word_set(sentence)
        scored = sorted(
            enumerate(passages), key=lambda ip: (-len(want & word_set(ip[1].text)), ip[0])
        )
        return [p for _, p in sorted(scored[:k], key=lambda ip: ip[0])]

    def locate(self, locator: str) -> list[Passage]:
        """Passages of the section whose heading path contains ``locator``, or of page N."""
        page = _PAGE.match(locator.strip())
        if page:
            lo = int(page.group(1))
            hi = int(page.group(2) or lo)
            return [
                p
                for p in self.passages
                if p.page_start is not None
                and p.page_start <= hi
                and (p.page_end or p.page_start) >= lo
            ]
        key = normalise(locator)
        if not key:
            return []
        return [p for p in self.passages if key in normalise(p.section)]

    def passages_for(
        self, citation: Citation, sentence: str, max_passages: int | None = MAX_SECTION_PASSAGES
    ) -> CitedPassages:
        found = self.locate(citation.locator)
        if found:
            chosen = found
            if max_passages is not None and len(found) > max_passages:
                chosen = self._ranked(found, sentence, max_passages)
            return CitedPassages(citation, chosen, True, len(found))
        return CitedPassages(
            citation, self._ranked(self.passages, sentence, FALLBACK_PASSAGES), False, 0
        )


def _count_words(text: str) -> int:
    return len(text.split())


class SourceLibrary:
    """The manifest's documents from a corpus folder, parsed and chunked once each."""

    def __init__(self, corpus_dir: Path, manifest: dict[str, dict[str, Any]] | None = None):
        self.corpus_dir = Path(corpus_dir)
        self.manifest = manifest if manifest is not None else load_manifest()
        self._docs: dict[str, SourceDocument | None] = {}

    def available(self, source_id: str) -> bool:
        src = self.manifest.get(source_id)
        return src is not None and source_file(src, self.corpus_dir) is not None

    def document(self, source_id: str) -> SourceDocument | None:
        if source_id not in self._docs:
            self._docs[source_id] = self._load(source_id)
        return self._docs[source_id]

    def _load(self, source_id: str) -> SourceDocument | None:
        from assistant.ingest.chunking import chunk_document
        from assistant.ingest.loaders import load_document

        src = self.manifest.get(source_id)
        path = source_file(src, self.corpus_dir) if src else None
        if src is None or path is None:
            return None
        overrides: dict[str, Any] = {
            k: src[k] for k in ("title", "publisher", "date", "licence") if k in src
        }
        doc = load_document(path, source_id, overrides)
        chunks = chunk_document(doc, _count_words)
        passages = [Passage(c.text, c.section, c.page_start, c.page_end) for c in chunks]
        sections = list(dict.fromkeys(p.section for p in passages))
        full = "\n".join(b.text for b in doc.blocks)
        return SourceDocument(source_id, path, passages, full, sections)

    def passages_for(
        self,
        citation: Citation,
        sentence: str,
        max_passages: int | None = MAX_SECTION_PASSAGES,
    ) -> CitedPassages | None:
        doc = self.document(citation.source_id)
        if doc is None:
            return None
        return doc.passages_for(citation, sentence, max_passages)


# ============================================================================================
# Copying


def ngram_words(text: str) -> list[str]:
    """Normalised words: lower case, runs of [a-z0-9] (curly apostrophes split words too)."""
    return _WORD.findall(text.lower())


class CopyIndex:
    """Hashes of every run of ``n`` normalised words in a set of documents."""

    def __init__(self, n: int = NGRAM) -> None:
        self.n = n
        self._grams: dict[int, str] = {}

    def add(self, name: str, text: str) -> None:
        words = ngram_words(text)
        n = self.n
        for i in range(len(words) - n + 1):
            self._grams.setdefault(hash(" ".join(words[i : i + n])), name)

    def __len__(self) -> int:
        return len(self._grams)

    def shared_runs(self, text: str) -> list[tuple[str, str]]:
        """(run of words, document) for each maximal run of >= n words found in a document."""
        words = ngram_words(text)
        n = self.n
        hits = [
            self._grams.get(hash(" ".join(words[i : i + n]))) for i in range(len(words) - n + 1)
        ]
        runs: list[tuple[str, str]] = []
        i = 0
        while i < len(hits):
            if hits[i] is None:
                i += 1
                continue
            j = i
            while j + 1 < len(hits) and hits[j + 1] is not None:
                j += 1
            runs.append((" ".join(words[i : j + n]), str(hits[i])))
            i = j + 1
        return runs


def corpus_texts(
    corpus_dir: Path, library: SourceLibrary | None = None
) -> Iterable[tuple[str, str]]:
    """(file name, text) for every document in the corpus folder: the parsed text (ligatures
    repaired, PDFs extracted) and, for text files, the raw text as well."""
    from assistant.errors import DocumentError
    from assistant.ingest.loaders import default_registry, load_document

    by_file: dict[str, str] = {}
    if library is not None:
        for sid, src in library.manifest.items():
            for name in src.get("files", []):
                by_file[name] = sid
    supported = default_registry.extensions()
    plain_text = default_registry.extensions("markdown", "text")  # raw text worth indexing too
    for path in sorted(Path(corpus_dir).iterdir()):
        if not path.is_file() or path.suffix.lower() not in supported:
            continue
        source_id = by_file.get(path.name)
        doc = library.document(source_id) if library is not None and source_id else None
        if doc is not None and doc.path == path:
            yield path.name, doc.full_text
        else:
            try:
                parsed = load_document(path, path.stem)
            except DocumentError:
                parsed = None
            if parsed is not None:
                yield path.name, "\n".join(b.text for b in parsed.blocks)
        if path.suffix.lower() in plain_text:
            yield path.name, path.read_text(encoding="utf-8", errors="replace")


def build_copy_index(corpus_dir: Path, library: SourceLibrary | None = None) -> CopyIndex:
    index = CopyIndex()
    for name, text in corpus_texts(corpus_dir, library):
        index.add(name, text)
    return index


def strip_titles(text: str, manifest: dict[str, dict[str, Any]]) -> str:
    """``text`` without the manifest's document titles: naming a source is not copying it."""
    out = text
    for src in manifest.values():
        title = str(src.get("title") or "")
        if title:
            pattern = r"[\W_]+".join(re.escape(w) for w in ngram_words(title))
            out = re.sub(pattern, " ", out, flags=re.IGNORECASE)
    return out

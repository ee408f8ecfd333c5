"""Incremental, crash-safe ingestion: files in, chunks with vectors in the store.

Order of writes for one document, chosen so that a run killed at any point (SIGKILL, power,
a Chroma server dying) leaves no record pointing at a missing chunk, and can simply be rerun:
1. upsert the new chunks (ids derive from content, so a repeat is harmless);
2. write the document record (content hash, chunk ids);
3. delete the document's chunks that are not in the new set.
Removing a document deletes its record first, then its chunks. At every moment a record lists
only stored chunks; what a crash can leave is orphans (stored chunks no record lists). A rerun
sees a hash that differs from the record (or no record, or stray chunks beside it), finds the
chunks already there, embeds only what is missing, and finishes the steps. A sweep at the end of
every run deletes chunks that belong to no record (a new file killed half-way and then deleted),
except those of a document another process is writing at that moment: a writer holds a lease on
its document (``LEASE_S``, renewed as it goes), so two processes ingesting into one Chroma
server do not delete each other's work in progress.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.config import IngestSettings
from assistant.embeddings.base import Embedder
from assistant.errors import DocumentError
from assistant.ingest.chunking import chunk_document
from assistant.ingest.columns import mark_document
from assistant.ingest.isolation import ParseWorker
from assistant.ingest.loaders import default_registry, load_document, supported_extensions
from assistant.ingest.manifest import Manifest
from assistant.ingest.quarantine import quarantine
from assistant.ingest.references import make_references_readable
from assistant.schemas import (
    Chunk,
    DocumentMeta,
    FileOutcome,
    IngestReport,
    ParsedDocument,
    UploadMetadata,
)
from assistant.store.base import DocumentRecord, StoredChunk, VectorStore, chunk_metadata

logger = logging.getLogger(__name__)

PARTIAL_DOWNLOAD_SUFFIX = ".part"
# Files read ahead of the one being embedded, at most: so many, and (beyond the first) so many
# bytes of source files between them, which bounds the memory their parsed text holds.
READ_AHEAD_FILES = 8
READ_AHEAD_BYTES = 64 * 2**20
EMBED_BATCH = 64  # passages per progress tick; the embedder batches inside
# A document being written holds a lease this long past its last renewal (renewed at most
# every LEASE_RENEW_S, as batches go in): a sweep leaves its unlisted chunks alone meanwhile.
# A writer killed mid-document leaves its lease to run out; a rerun of the file takes it over.
LEASE_S = 300.0
LEASE_RENEW_S = 30.0


@dataclass
class Progress:
    """Callbacks for a progress display (the CLI draws a bar; tests pass nothing)."""

    on_files_found: Callable[[int], None] = lambda n: None  # files to read in this run
    on_file_start: Callable[[Path], None] = lambda p: None
    on_to_embed: Callable[[int], None] = lambda n: None  # passages of a file about to embed
    on_embedded: Callable[[int], None] = lambda n: None
    on_file_done: Callable[[FileOutcome], None] = lambda o: None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def metadata_sidecar(path: Path) -> Path:
    """Where an upload's metadata is kept: a hidden file beside it (ingestion skips dot files)."""
    return path.parent / f".{path.name}.meta.json"


def sidecar_overrides(path: Path) -> tuple[dict[str, Any], str]:
    """The metadata saved with an upload (title, publisher, date, source_url, licence) and its
    text, or ({}, "") when there is none or it cannot be read."""
    sidecar = metadata_sidecar(path)
    try:
        text = sidecar.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}, ""
    if not isinstance(data, dict):
        return {}, ""
    return {k: str(v) for k, v in data.items() if k in UploadMetadata.model_fields and v}, text


def doc_id_for(path: Path) -> str:
    """A stable id from the file name: readable, and unique for a PDF and its Markdown twin."""
    slug = re.sub(r"[^a-z0-9.]+", "-", path.name.lower()).strip("-.")
    return slug or "document"


def embedding_text(meta: DocumentMeta, chunk: Chunk) -> str:
    """What the embedder reads: where the passage sits, then the passage."""
    where = " > ".join([meta.title, *chunk.headings])
    return f"{where}\n{chunk.text}"


def read_document(
    path: Path,
    doc_id: str,
    overrides: dict[str, Any],
    manifest: Manifest,
    released: list[str],
    screen: bool = True,
) -> ParsedDocument:
    """Everything done to a file before chunking: parse it, make its source tags readable,
    hold back planted passages (unless ``screen`` is off) and mark column-interleaved blocks.
    Pure work on one file, so it runs in the parse child beside the embedding of another."""
    doc = load_document(path, doc_id, overrides)
    make_references_readable(doc, manifest)  # "[src: id, section]" tags
    doc.meta.released = list(released)
    if screen:
        doc.meta.quarantined = quarantine(doc, set(released))
    mark_document(doc)  # column-interleaved blocks: indexed, never quoted
    return doc


@dataclass
class Reading:
    """A file checked and not yet read: what reading and writing it need."""

    path: Path
    doc_id: str
    sha: str
    overrides: dict[str, Any]
    released: list[str]
    previous: DocumentRecord | None
    size: int  # bytes of the file, as checked against the size limit


@dataclass
class _Pending:
    """A file being read in the background."""

    reading: Reading
    future: Future[ParsedDocument]


class ReadAhead:
    """Reads files ahead of the file being embedded.

    ``take(path)`` returns the file's ``_Pending`` read (started earlier by ``next()``, or now)
    or its "unchanged" outcome; ``next()`` starts reading the following file that needs it.
    Reading happens on one background thread, which waits on the parse child process (or, with
    ``isolate_parsing`` off, parses itself). At most ``READ_AHEAD_FILES`` files, and
    ``READ_AHEAD_BYTES`` of them, are read ahead, so memory holds at most that much parsed text
    beside the document being embedded. The run puts the files that are slow to read last
    (``Loader.slow_to_read``): the quick ones are read in seconds, so reading reaches the slow
    ones (a 260-page PDF takes 45 s to parse and screen) while the quick ones are embedded.
    """

    def __init__(self, ingestor: Ingestor, files: list[Path], clock: StageClock) -> None:
        self.ingestor = ingestor
        self.files = files
        self.clock = clock
        self._at = 0  # index in files of the next file to start
        self._started: dict[Path, _Pending | FileOutcome | BaseException] = {}
        self._seen: set[Path] = set()  # every file started, taken or not
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="read-ahead")

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self._pool.shutdown(wait=True)
            return
        # A run stopped half-way (Ctrl-C, a store failure): nothing left waiting, and a read in
        # progress is stopped with its child rather than waited for.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.ingestor.parser.abort()

    def _start(self, path: Path) -> None:
        self._seen.add(path)
        try:
            prepared = self.ingestor.prepare(path)
        except (DocumentError, OSError) as exc:
            self._started[path] = exc
            return
        if isinstance(prepared, FileOutcome):
            self._started[path] = prepared
            return
        self._started[path] = _Pending(
            prepared, self._pool.submit(self.ingestor.read, prepared, self.clock)
        )

    def next(self) -> None:
        """Start reading the next files not already started, while there is room."""
        while self._at < len(self.files) and self._room():
            path = self.files[self._at]
            self._at += 1
            if path not in self._seen:
                self._start(path)

    def _room(self) -> bool:
        waiting = [item for item in self._started.values() if isinstance(item, _Pending)]
        if len(waiting) >= READ_AHEAD_FILES:
            return False
        return sum(item.reading.size for item in waiting) < READ_AHEAD_BYTES

    def take(self, path: Path) -> _Pending | FileOutcome:
        """This file's read; raises what its check raised."""
        if path not in self._seen:
            self._start(path)
        item = self._started.pop(path)
        if isinstance(item, BaseException):
            raise item
        return item


class StageClock:
    """Seconds per ingestion stage, added to from the run and the read-ahead thread."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextlib.contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t0)


class Ingestor:
    """Indexes files into the store through the shared embedder.

    >>> report = Ingestor(embedder, store, IngestSettings(), Manifest.load()).ingest([Path("corpus")])  # doctest: +SKIP
    >>> report.count("indexed"), report.failed                                                        # doctest: +SKIP
    """

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        settings: IngestSettings,
        manifest: Manifest,
        isolate_parsing: bool = True,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.settings = settings
        self.manifest = manifest
        self.isolate_parsing = isolate_parsing
        self.parser = ParseWorker()  # one child per run reads its files (replaced if it fails)

    # -- discovery ------------------------------------------------------------------------

    def discover(self, paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome]]:
        """Files to ingest under ``paths``, and outcomes for paths refused outright."""
        files: list[Path] = []
        refused: list[FileOutcome] = []
        for root in paths:
            root = Path(root)
            if not root.exists():
                refused.append(
                    FileOutcome(path=str(root), status="failed", reason="no such file or folder")
                )
                continue
            if root.is_file():
                files.append(root)
                continue
            base = root.resolve()
            for p in sorted(root.rglob("*")):
                if any(part.startswith(".") for part in p.relative_to(root).parts):
                    continue
                if p.suffix == PARTIAL_DOWNLOAD_SUFFIX:
                    continue  # an unfinished `corpus fetch` download, completed by the next fetch
                if p.is_symlink() and not p.resolve().is_relative_to(base):
                    refused.append(
                        FileOutcome(
                            path=str(p),
                            status="failed",
                            reason="symlink points outside the folder being ingested",
                        )
                    )
                    continue
                if p.is_file():
                    files.append(p)
        seen: set[Path] = set()
        unique = []
        for f in files:
            r = f.resolve()
            if r not in seen:
                seen.add(r)
                unique.append(f)
        return unique, refused

    # -- the run --------------------------------------------------------------------------

    def ingest(
        self, paths: Iterable[Path], prune: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        try:
            return self._run(list(paths), prune, progress or Progress())
        finally:
            # The child is stopped after every run: a server keeps no idle parser (and what a
            # parser leaked) between uploads; a run of many files pays its start once.
            self.parser.close()

    def _run(self, paths: list[Path], prune: bool, progress: Progress) -> IngestReport:
        t0 = time.perf_counter()
        clock = StageClock()
        files, refused = self.discover(paths)
        progress.on_files_found(len(files))
        report = IngestReport(files=list(refused))
        changed = False
        seen_docs: set[str] = set()
        claimed: dict[str, Path] = {}  # doc id -> the file that has it in this run
        for path in files:
            claimed.setdefault(doc_id_for(path), path)
        # The next files are read (parsed, screened) in a child process while this one is
        # embedded: reading is single-threaded, so it overlaps the model's work on the cores.
        # Files slow to read go last, so reading reaches them early (see ReadAhead).
        order = sorted(files, key=default_registry.slow_to_read)
        readable = [p for p in order if claimed[doc_id_for(p)] is p]
        with ReadAhead(self, readable, clock) as ahead:
            for path in order:
                progress.on_file_start(path)
                first = claimed[doc_id_for(path)]
                if first is path:
                    outcome = self._ingest_file(path, progress, ahead)
                else:  # without this, the second file would silently replace the first
                    outcome = FileOutcome(
                        path=str(path),
                        status="failed",
                        reason=f"same document id as {first.name[:60]!r} (the names differ only "
                        "in case or punctuation): rename one of them",
                    )
                if outcome.doc_id:
                    seen_docs.add(outcome.doc_id)
                changed |= outcome.status in ("indexed", "updated")
                report.files.append(outcome)
                progress.on_file_done(outcome)
        found = {str(p): n for n, p in enumerate(files)}  # the report lists them as found
        report.files.sort(key=lambda o: found.get(o.path, -1))
        if prune:
            report.pruned = self._prune(paths, seen_docs)
            changed |= bool(report.pruned)
        changed |= self.sweep_orphans() > 0
        if changed or self.store.generation() == 0:
            self.store.bump_generation()
        report.seconds = time.perf_counter() - t0
        report.stage_seconds = dict(clock.seconds)
        return report

    def _ingest_file(self, path: Path, progress: Progress, ahead: ReadAhead) -> FileOutcome:
        t0 = time.perf_counter()
        doc_id = doc_id_for(path)
        outcome = FileOutcome(path=str(path), doc_id=doc_id, status="failed")
        try:
            pending = ahead.take(path)
            if isinstance(pending, FileOutcome):  # unchanged
                pending.seconds = time.perf_counter() - t0
                return pending
            with ahead.clock.timing("read_wait"):
                doc = pending.future.result()
            ahead.next()  # the next file is read while this one is embedded
            previous = pending.reading.previous
            if previous is not None and previous.meta.marked:  # an admin's lifecycle word
                marked = dict(previous.meta.marked)
                doc.meta = doc.meta.model_copy(update={**marked, "marked": marked})
            outcome.quarantined = len(doc.meta.quarantined)
            if doc.meta.quarantined:
                logger.warning(
                    "%s: %d passage(s) quarantined as planted text (see `index stats`)",
                    doc_id,
                    len(doc.meta.quarantined),
                )
            with ahead.clock.timing("chunk"):
                chunks = chunk_document(
                    doc,
                    self.embedder.count_tokens,
                    max_tokens=self.settings.chunk_max_tokens,
                    overlap_tokens=self.settings.chunk_overlap_tokens,
                )
            if not chunks and not doc.meta.quarantined:
                raise DocumentError("no text found to index (a scanned or image-only file?)")
            # All of it planted: the record is kept (with no passages) so it shows in `index
            # stats` and `GET /v1/documents` for an admin to release or remove.
            outcome.embedded = self._write(
                doc.meta, chunks, str(path.resolve()), progress, ahead.clock
            )
            outcome.chunks = len(chunks)
            outcome.status = "updated" if previous is not None else "indexed"
        except DocumentError as exc:
            outcome.reason = str(exc)
            logger.warning("failed %s: %s", path, exc)
        except OSError as exc:
            outcome.reason = f"cannot read the file: {exc.strerror or exc}"
        finally:
            outcome.seconds = time.perf_counter() - t0
        return outcome

    def prepare(self, path: Path) -> Reading | FileOutcome:
        """Check a file before reading it: the outcome when it is unchanged, else what reading
        it needs. Raises ``DocumentError`` or ``OSError`` for a file that cannot be indexed."""
        doc_id = doc_id_for(path)
        supported = supported_extensions()
        if path.suffix.lower() not in supported:
            raise DocumentError(
                f"unsupported file type {path.suffix or '(none)'!r}; supported: "
                + ", ".join(sorted(supported))
            )
        size = path.stat().st_size
        size_mb = size / 1e6
        if size_mb > self.settings.max_file_mb:
            raise DocumentError(
                f"file is {size_mb:.1f} MB; the limit is {self.settings.max_file_mb:g} MB"
            )
        sha = file_sha256(path)
        given, given_text = sidecar_overrides(path)
        if given_text:  # new metadata for the same file is a change too
            sha = hashlib.sha256(f"{sha}\n{given_text}".encode()).hexdigest()
        previous = self.store.get_document(doc_id)
        if previous is not None and previous.meta.sha256 == sha and self._complete(previous):
            return FileOutcome(
                path=str(path), doc_id=doc_id, status="unchanged", chunks=len(previous.chunk_ids)
            )
        overrides = {**self.manifest.overrides_for(path.name), **given}
        # Planted passages an admin released stay released when the file is read again.
        released = list(previous.meta.released) if previous is not None else []
        return Reading(path, doc_id, sha, overrides, released, previous, size)

    def read(self, reading: Reading, clock: StageClock | None = None) -> ParsedDocument:
        """Parse and screen a prepared file (in a child process when ``isolate_parsing``; the
        per-file timeout covers all of it: parsing, source tags, screening, column marks)."""
        loader = functools.partial(
            read_document,
            manifest=self.manifest,
            released=reading.released,
            screen=self.settings.quarantine,
        )
        with clock.timing("read") if clock is not None else contextlib.nullcontext():
            if self.isolate_parsing:
                doc = self.parser.parse(
                    loader, reading.path, reading.doc_id, reading.overrides,
                    self.settings.file_timeout_s,
                )  # fmt: skip
            else:
                doc = loader(reading.path, reading.doc_id, reading.overrides)
        doc.meta.sha256 = reading.sha
        return doc

    def _complete(self, record: DocumentRecord) -> bool:
        """Whether every chunk of the record is in the store (and nothing extra)."""
        return self.store.chunk_ids(record.meta.doc_id) == set(record.chunk_ids)

    def _write(
        self,
        meta: DocumentMeta,
        chunks: list[Chunk],
        source: str,
        progress: Progress,
        clock: StageClock,
    ) -> int:
        """Store a document's chunks, then its record, then drop its stale chunks; returns how
        many passages were embedded. A lease, renewed as batches go in, tells a sweep in
        another process that the unlisted chunks of this document are work in progress."""
        lease = _Lease(self.store, meta.doc_id)
        existing = self.store.chunk_ids(meta.doc_id)
        todo = [c for c in chunks if c.chunk_id not in existing]
        progress.on_to_embed(len(todo))
        self._embed_and_store(meta, todo, progress, lease, clock)
        new_ids = [c.chunk_id for c in chunks]
        self.store.put_document(
            DocumentRecord(
                meta=meta,
                chunk_ids=new_ids,
                source_path=source,
                indexed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )
        # A sweep elsewhere that began before the lease may still have deleted a chunk kept
        # from an interrupted run: put back whatever the record lists and the store lacks.
        stored = self.store.chunk_ids(meta.doc_id)
        lost = [c for c in chunks if c.chunk_id not in stored]
        if lost:
            logger.warning("%s: %d passages vanished while writing; storing them again",
                           meta.doc_id, len(lost))  # fmt: skip
            self._embed_and_store(meta, lost, progress, lease, clock)
        stale = sorted(stored - set(new_ids))
        if stale:  # after the record: a crash here leaves orphans, never a dangling record
            self.store.delete_chunks(stale)
            # Readers (BM25, the candidates kept between questions) drop what was deleted now,
            # not when this run ends.
            self.store.bump_generation()
        lease.release()
        return len(todo) + len(lost)

    def _embed_and_store(
        self,
        meta: DocumentMeta,
        chunks: list[Chunk],
        progress: Progress,
        lease: _Lease,
        clock: StageClock,
    ) -> None:
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            with clock.timing("embed"):
                vectors = self.embedder.embed_documents([embedding_text(meta, c) for c in batch])
            with clock.timing("store"):
                lease.renew()
                self.store.upsert_chunks(
                    [
                        StoredChunk(c.chunk_id, c.text, chunk_metadata(meta, c), vectors[i])
                        for i, c in enumerate(batch)
                    ]
                )
            progress.on_embedded(len(batch))

    # -- removal and consistency ----------------------------------------------------------

    def remove(self, doc_id: str) -> bool:
        """Delete a document and its chunks; False when it is not indexed."""
        record = self.store.get_document(doc_id)
        ids = self.store.chunk_ids(doc_id)
        if record is None and not ids:
            return False
        self.store.delete_document(doc_id)  # the record first: its chunks become orphans
        self.store.delete_chunks(sorted(ids))
        self.store.bump_generation()
        return True

    def _prune(self, roots: list[Path], seen: set[str]) -> list[str]:
        """Remove documents whose file is gone, or lies under a root but was not seen now."""
        dirs = [Path(r).resolve() for r in roots if Path(r).is_dir()]
        pruned = []
        for rec in self.store.list_documents():
            src = Path(rec.source_path)
            under_root = any(src.is_relative_to(d) for d in dirs)
            if rec.meta.doc_id in seen:
                continue
            if not src.exists() or under_root:
                self.store.delete_document(rec.meta.doc_id)
                self.store.delete_chunks(sorted(self.store.chunk_ids(rec.meta.doc_id)))
                pruned.append(rec.meta.doc_id)
        return pruned

    def sweep_orphans(self) -> int:
        """Delete chunks that no document record lists (left by a run killed half-way), except
        those of a document another process is writing now (it holds an unexpired lease).

        Read in this order (records, chunks, leases, records again) so that a document whose
        write finishes during the sweep is never taken for an orphan.
        """
        listed: set[str] = set()
        for rec in self.store.list_documents():
            listed.update(rec.chunk_ids)
        orphans = self.store.chunk_ids() - listed
        now = time.time()
        leases = self.store.leases()
        for doc_id, until in leases.items():
            if until <= now:  # its writer died; a rerun of that file takes a new one
                self.store.delete_lease(doc_id)
        writing = {doc_id for doc_id, until in leases.items() if until > now}
        if orphans and writing:
            owner = {c.chunk_id: c.metadata.get("doc_id") for c in
                     self.store.get_chunks(sorted(orphans))}  # fmt: skip
            orphans = {cid for cid in orphans if owner.get(cid) not in writing}
        if orphans:
            for rec in self.store.list_documents():
                orphans -= set(rec.chunk_ids)
        if orphans:
            logger.info("removing %d orphan chunks", len(orphans))
            self.store.delete_chunks(sorted(orphans))
        return len(orphans)


class _Lease:
    """A document's claim to be in the middle of a write, renewed as the write goes on."""

    def __init__(self, store: VectorStore, doc_id: str) -> None:
        self.store, self.doc_id = store, doc_id
        self._renewed = 0.0
        self.renew()

    def renew(self) -> None:
        now = time.time()
        if now - self._renewed >= LEASE_RENEW_S:
            self.store.put_lease(self.doc_id, now + LEASE_S)
            self._renewed = now

    def release(self) -> None:
        self.store.delete_lease(self.doc_id)

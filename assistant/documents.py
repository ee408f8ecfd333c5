"""Documents as a service: list, add (checked, saved under DATA_DIR/uploads, ingested), remove.

The API's upload and delete routes and the CLI's ``index rm`` call this one service. Uploads go
through the same ingestion pipeline as ``nhs-assistant ingest``; the content decides the type
(:func:`detect_kind`), not only the extension, and the file name is reduced to a safe base name
before anything touches the disk. Writes are serialised within a process. Failures are domain
errors (:mod:`assistant.errors`) that each surface maps to its own form (an HTTP status, an exit
code).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from assistant.errors import (
    DocumentError,
    FieldInputError,
    InvalidFileNameError,
    UnknownDocumentError,
    UnsupportedDocumentError,
    UploadTooLargeError,
)
from assistant.ingest.loaders import default_registry, detect_kind
from assistant.ingest.pipeline import metadata_sidecar
from assistant.lifecycle import successor_of
from assistant.redact import redact
from assistant.schemas import (
    DocumentInfo,
    IngestReport,
    LifecycleUpdate,
    UploadMetadata,
    UploadResponse,
)
from assistant.store.base import DocumentRecord, VectorStore

logger = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"
MAX_FILE_NAME_CHARS = 120
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")
# The upload's OpenAPI description; like every list of extensions, from the loader registry.
UPLOAD_FILE_DESCRIPTION = f"A {default_registry.describe(last=' or ')} file."


def safe_file_name(name: str) -> str:
    """A base name of safe characters: no folders, no ``..``, no leading dot, bounded length.

    >>> safe_file_name("../../etc/passwd.md")
    'passwd.md'
    >>> safe_file_name("C:\\\\Users\\\\me\\\\Plan (final)…v2.md")
    'Plan _final_.v2.md'
    >>> safe_file_name("Cafe\u0301 ｆｉｎａｌ\u202eplan.md")
    'Cafe final_plan.md'
    """
    # Compatibility forms first, so a fullwidth solidus is a folder separator like "/"; accents
    # come off their letters ("café" -> "cafe") rather than becoming "_".
    decomposed = unicodedata.normalize("NFKD", name or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    base = PureWindowsPath(PurePosixPath(plain).name).name
    base = _UNSAFE_CHARS.sub("_", base)
    base = re.sub(r"\.{2,}", ".", base).strip(" ._-")
    stem, dot, ext = base.rpartition(".")
    if len(base) > MAX_FILE_NAME_CHARS:
        keep = MAX_FILE_NAME_CHARS - len(ext) - 1
        base = (
            stem[:keep].rstrip(" ._-") + "." + ext
            if dot and keep > 0
            else base[:MAX_FILE_NAME_CHARS]
        )
        stem, dot, ext = base.rpartition(".")
    if not base or not dot or not stem.strip(" ._-"):
        raise InvalidFileNameError(
            f"the file needs a name with an extension ({default_registry.describe()})"
        )
    return base


def document_info(record: DocumentRecord) -> DocumentInfo:
    meta = record.meta
    return DocumentInfo(
        doc_id=meta.doc_id,
        title=meta.title,
        file_name=meta.file_name,
        publisher=meta.publisher,
        date=meta.date,
        source_url=meta.source_url,
        licence=meta.licence,
        themes=meta.themes,
        pages=meta.pages,
        published=meta.published,
        period=meta.period,
        status=meta.status,
        superseded_by=meta.superseded_by,
        marked=meta.marked,
        chunks=len(record.chunk_ids),
        indexed_at=record.indexed_at,
        quarantined=meta.quarantined,
        released=meta.released,
    )


class DocumentService:
    """Lists, adds and removes documents.

    ``ingest`` and ``remove`` are the composition root's (they keep BM25 in step with the store).

    >>> docs = services.documents                              # doctest: +SKIP
    >>> docs.upload("plan.md", b"# Plan\n\nICBs must ...").status  # doctest: +SKIP
    'indexed'
    """

    def __init__(
        self,
        store: VectorStore,
        ingest: Callable[[list[Path]], IngestReport],
        remove: Callable[[str], bool],
        upload_dir: Path,
        max_upload_bytes: int,
    ) -> None:
        self.store = store
        self._ingest = ingest
        self._remove = remove
        self.max_upload_bytes = max_upload_bytes
        self.upload_dir = upload_dir
        self._write_lock = threading.Lock()

    def list(self) -> list[DocumentInfo]:
        records = self.store.list_documents()
        return sorted((document_info(r) for r in records), key=lambda d: d.doc_id)

    def upload(
        self, file_name: str, data: bytes, metadata: UploadMetadata | None = None
    ) -> UploadResponse:
        """Check, save and index one file, with what the uploader says about it (title,
        publisher, date, link, licence: kept beside the file, so re-indexing keeps them).
        Raises InvalidFileNameError, UploadTooLargeError, UnsupportedDocumentError (content of
        no supported type) or DocumentError (unreadable)."""
        name = safe_file_name(file_name)
        if len(data) > self.max_upload_bytes:
            raise UploadTooLargeError(
                f"upload too large: a file may be at most {self.max_upload_bytes / 1e6:g} MB"
            )
        try:
            detect_kind(data, name)
        except DocumentError as exc:
            raise UnsupportedDocumentError(f"{name}: {exc}") from exc
        given = metadata.overrides() if metadata is not None else {}
        with self._write_lock:
            previous = self._set_aside(name)
            sidecar = metadata_sidecar(self.upload_dir / name)
            earlier_meta = sidecar.read_bytes() if sidecar.is_file() else None
            path = self._save(name, data)
            self._write_sidecar(sidecar, given)
            try:
                outcome = self._ingest([path]).files[0]
            except BaseException:
                self._put_back(path, previous)
                self._restore_sidecar(sidecar, earlier_meta)
                raise
            if outcome.status == "failed" or outcome.doc_id is None:
                # The index still holds the earlier upload of this name: keep its file too.
                self._put_back(path, previous)
                self._restore_sidecar(sidecar, earlier_meta)
                raise DocumentError(f"{name}: {outcome.reason or 'could not be indexed'}")
            if previous is not None:
                previous.unlink(missing_ok=True)
        logger.info("upload %s: %s, %d chunks", redact(name), outcome.status, outcome.chunks)
        return UploadResponse(
            doc_id=outcome.doc_id,
            file_name=name,
            status=outcome.status,  # failed was handled above; ingest never says removed
            chunks=outcome.chunks,
            embedded=outcome.embedded,
            seconds=round(outcome.seconds, 3),
        )

    @staticmethod
    def _write_sidecar(sidecar: Path, given: dict[str, str]) -> None:
        if given:
            sidecar.write_text(json.dumps(given, ensure_ascii=False), encoding="utf-8")
        else:  # an upload without metadata says what the file says, not an older upload's
            sidecar.unlink(missing_ok=True)

    @staticmethod
    def _restore_sidecar(sidecar: Path, earlier: bytes | None) -> None:
        if earlier is None:
            sidecar.unlink(missing_ok=True)
        else:
            sidecar.write_bytes(earlier)

    def _set_aside(self, name: str) -> Path | None:
        """Move an earlier upload of the same name to a hidden file (ingestion skips dot files),
        so a replacement that fails to index can be undone."""
        target = self.upload_dir / name
        if not target.is_file():
            return None
        aside = self.upload_dir / f".previous-{name}"
        os.replace(target, aside)
        return aside

    def _put_back(self, path: Path, previous: Path | None) -> None:
        """Undo a failed upload: remove its file, and restore the earlier one of that name."""
        if previous is not None:
            os.replace(previous, path)
        else:
            path.unlink(missing_ok=True)

    def _save(self, name: str, data: bytes) -> Path:
        """Write atomically (temporary file, then rename) so ingestion never reads half a file."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        target = self.upload_dir / name
        fd, tmp = tempfile.mkstemp(dir=self.upload_dir, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def release(self, doc_id: str, keys: Sequence[str] | None = None) -> DocumentInfo:
        """Let quarantined passages of a document through (all of them when ``keys`` is None):
        an admin's call that they are false alarms. The document is read again from its file.
        Raises UnknownDocumentError, or FieldInputError for a key that is not quarantined, or
        DocumentError when the file is gone (upload it again)."""
        with self._write_lock:
            record = self.store.get_document(doc_id)
            if record is None:
                raise UnknownDocumentError(doc_id)
            held = {q.key for q in record.meta.quarantined}
            wanted = sorted(held) if keys is None else list(dict.fromkeys(keys))
            unknown = [k for k in wanted if k not in held]
            if unknown:
                raise FieldInputError(
                    "keys", f"not a quarantined passage of {doc_id!r}: {', '.join(unknown[:5])}"
                )
            source = Path(record.source_path)
            if not source.is_file():
                raise DocumentError(
                    f"the file of {doc_id!r} is no longer at {source.name!r}: upload it again"
                )
            record.meta.released = sorted({*record.meta.released, *wanted})
            record.meta.sha256 = ""  # read the file again, with these passages let through
            self.store.put_document(record)
            report = self._ingest([source])
        if report.failed:
            raise DocumentError(report.failed[0].reason or "re-indexing failed")
        logger.info("released %d passage(s) of %s", len(wanted), redact(doc_id))
        updated = self.store.get_document(doc_id)
        assert updated is not None
        return document_info(updated)

    def mark(self, doc_id: str, update: LifecycleUpdate) -> DocumentInfo:
        """Set an indexed document's lifecycle (superseded, by what, its period ...) without
        indexing it again: citations carry the new warning from the next answer, in every
        process sharing the store. The fields are kept on the record's ``marked`` so that
        indexing the file again does not undo them. Raises UnknownDocumentError, or
        FieldInputError when nothing is given or the document would supersede itself."""
        changes = update.changes()
        if not changes:
            raise FieldInputError(
                "status", "give at least one of status, superseded_by, period, published"
            )
        with self._write_lock:
            record = self.store.get_document(doc_id)
            if record is None:
                raise UnknownDocumentError(doc_id)
            meta = record.meta.model_copy(
                update={**changes, "marked": {**record.meta.marked, **changes}}
            )
            if meta.superseded_by:
                others = {r.meta.doc_id: r.meta for r in self.store.list_documents()}
                if meta.superseded_by == doc_id or successor_of(meta, others) == doc_id:
                    raise FieldInputError("superseded_by", "a document cannot supersede itself")
            record.meta = meta
            self.store.put_document(record)
            self.store.bump_generation()  # other workers' caches of document records follow
        logger.info("marked %s: %s", redact(doc_id), ", ".join(sorted(changes)))
        return document_info(record)

    def delete(self, doc_id: str) -> None:
        """Remove a document (and its uploaded file, if it was uploaded); raises
        UnknownDocumentError when no such document is indexed."""
        with self._write_lock:
            record = self.store.get_document(doc_id)
            if not self._remove(doc_id):
                raise UnknownDocumentError(doc_id)
            if record is not None:
                source = Path(record.source_path)
                if source.parent.resolve() == self.upload_dir.resolve():
                    source.unlink(missing_ok=True)
                    metadata_sidecar(source).unlink(missing_ok=True)
        logger.info("deleted document %s", redact(doc_id))

"""Guards against hostile files, applied before a parser touches the bytes.

A zip bomb (a .docx that inflates to gigabytes, or lists a million entries) and an
entity-expansion bomb ("billion laughs", in a .docx part or an HTML page) are refused with one
line that says so, before anything is inflated or expanded. The PDF loader's decompression
limit is pypdf's own; :mod:`.pdf` names it when a page trips it.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile

from assistant.errors import DocumentError

__all__ = [
    "DTD_SCAN_BYTES",
    "MAX_DOCX_ENTRIES",
    "MAX_DOCX_RATIO",
    "MAX_DOCX_UNCOMPRESSED",
    "OLE_SIGNATURE",
    "ZIP_SIGNATURE",
    "check_zip",
    "one_line",
    "refuse_entity_declarations",
    "strip_internal_dtd",
]

# Zip-bomb guard for .docx: refuse before python-docx inflates anything.
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_DOCX_RATIO = 100
MAX_DOCX_ENTRIES = 10_000  # Word writes dozens; a million tiny entries exhaust memory on listing
DTD_SCAN_BYTES = 64 * 1024  # a DTD sits in an XML part's prolog, before the root element

ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word's encrypted .docx and legacy .doc

# An internal DTD subset in the prolog (anchored, and no lazy ".*?": both keep it linear on a
# page that repeats "<!DOCTYPE x [" without ever closing it).
_DTD_SUBSET = re.compile(
    r"\A\s*(?:<\?xml[^>]*\?>\s*)?<!DOCTYPE[^\[>]*\[[^\]]*\]\s*>", re.IGNORECASE
)
_ENTITY_DECLARATION = re.compile(r"<!ENTITY\b", re.IGNORECASE)

_DTD_MARKS = tuple(
    mark.encode(codec)
    for mark in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-8", "utf-16-le", "utf-16-be")
)


def one_line(exc: BaseException) -> str:
    """An exception as one short line."""
    text = str(exc).strip().split("\n")[0] or type(exc).__name__
    return text[:200]


# --------------------------------------------------------------------------------------------
# HTML: entity declarations


def refuse_entity_declarations(text: str) -> None:
    """HTML never declares entities: a page that does is refused, which closes the door on
    "billion laughs" expansion whatever the parser."""
    if _ENTITY_DECLARATION.search(text):
        raise DocumentError(
            "the page declares XML entities (<!ENTITY>), which HTML never does: "
            "refused as a possible entity-expansion (billion laughs) bomb"
        )


def strip_internal_dtd(text: str) -> str:
    """The text without an internal DTD subset in its prolog (harmless once entities are out)."""
    return _DTD_SUBSET.sub("", text)


# --------------------------------------------------------------------------------------------
# .docx: zip bombs and DTDs in the XML parts


def check_zip(data: bytes) -> None:
    """Refuse archives that would inflate past the limits, before anything is decompressed,
    and XML parts that declare a DTD (an entity-expansion bomb), before any is parsed."""
    entries = _zip_entry_count(data)
    if entries is not None and entries > MAX_DOCX_ENTRIES:
        raise DocumentError(
            f".docx archive lists {entries:,} entries (limit {MAX_DOCX_ENTRIES:,}): "
            "refused as a possible zip bomb"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            _check_inflated_size(infos)
            if "word/document.xml" not in {i.filename for i in infos}:
                raise DocumentError("not a .docx file: the archive has no word/document.xml")
            for info in infos:
                if info.filename.endswith((".xml", ".rels")) and _declares_dtd(archive, info):
                    raise DocumentError(
                        f".docx part {info.filename[:60]} declares a DTD (<!DOCTYPE>), which Word "
                        "never writes: refused as a possible entity-expansion (billion laughs) bomb"
                    )
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DocumentError(f"corrupt or truncated .docx file: {one_line(exc)}") from exc


def _zip_entry_count(data: bytes) -> int | None:
    """Entries the end-of-central-directory record announces (read before any listing)."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if eocd < 0 or eocd + 12 > len(data):
        return None  # no record: zipfile reports the archive as corrupt
    (count,) = struct.unpack_from("<H", data, eocd + 10)
    return MAX_DOCX_ENTRIES + 1 if count == 0xFFFF else count  # 0xFFFF: a Zip64 count follows


def _check_inflated_size(infos: list[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_DOCX_UNCOMPRESSED:
        raise DocumentError(
            f".docx expands to {total // (1024 * 1024):,} MB (limit "
            f"{MAX_DOCX_UNCOMPRESSED // (1024 * 1024)} MB): refused as a possible zip bomb"
        )
    if total / packed > MAX_DOCX_RATIO:
        raise DocumentError(
            f".docx compression ratio {total / packed:.0f}:1 exceeds {MAX_DOCX_RATIO}:1: "
            "refused as a possible zip bomb"
        )


def _declares_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether an XML part's prolog declares a DTD (Word documents never have one)."""
    with archive.open(info) as part:
        head = part.read(DTD_SCAN_BYTES)
    return any(mark in head for mark in _DTD_MARKS)

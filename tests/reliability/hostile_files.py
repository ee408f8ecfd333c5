"""Hostile and broken input files, generated on demand (none is committed as a binary blob).

Each ``write_*`` function writes one file into ``folder`` and returns its path. The bombs are
built without ever holding their inflated size in memory: a deflate stream of one block,
full-flushed, encodes the same way every time, so a stream of N blocks is the first block's
bytes repeated N times (see :func:`deflate_repeated`).

The good documents are the project's own words, each with one distinctive fact a question can
find.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import (
    DictionaryObject,
    NameObject,
    StreamObject,
)

from tests.ingest.test_loaders import make_docx, make_pdf, sample_pdf

MIB = 1024 * 1024
ZIP_BOMB_INFLATED = 2048 * MIB  # what the zip bomb's document.xml claims, and would inflate to
PDF_BOMB_INFLATED = 1024 * MIB  # what the PDF bomb's page content inflates to
BLANK_PAGES = 4000
LONG_LINE_CHARS = 100_000
ENTITY_LEVELS = 10  # 10 ** 10 "lol"s if anything ever expanded them

# --------------------------------------------------------------------------------------------
# Good documents (own words; one fact each that a question can find)

GOOD_MARKDOWN = """# Riverside virtual ward

## How the ward runs

The Riverside virtual ward looks after up to forty patients at home each day. A consultant
geriatrician leads the morning huddle at eight o'clock, and the team reviews every patient
whose oxygen readings fell overnight.

## Escalation

When a patient deteriorates the ward nurse calls the urgent community response team, which
aims to arrive within two hours.
"""

GOOD_TEXT = """Estates and car parking

Staff on night shifts at Hillcrest Hospital park free of charge from seven in the evening.
The estates committee reviews the car parking policy every autumn and publishes the result
on the staff intranet.
"""

GOOD_HTML = """<!DOCTYPE html>
<html><head><title>Lakeside neighbourhood team</title></head>
<body>
<h1>Lakeside neighbourhood team</h1>
<p>The Lakeside neighbourhood team brings together district nurses, a pharmacist and a social
prescriber. They hold a joint caseload review every Thursday afternoon in the health centre.</p>
</body></html>
"""

GOOD_FACTS = {
    # question -> file name of the document that answers it
    "Who leads the morning huddle on the Riverside virtual ward?": "good-ward.md",
    "When do night shift staff at Hillcrest Hospital park free of charge?": "good-parking.txt",
    "When does the Lakeside neighbourhood team hold its joint caseload review?": (
        "good-neighbourhood.html"
    ),
}


def write_good(folder: Path) -> dict[str, Path]:
    """Three readable documents (Markdown, text, HTML), by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "good-ward.md": GOOD_MARKDOWN,
        "good-parking.txt": GOOD_TEXT,
        "good-neighbourhood.html": GOOD_HTML,
    }
    out = {}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        out[name] = folder / name
    return out


# --------------------------------------------------------------------------------------------
# Deflate without inflating


def deflate_repeated(prefix: bytes, block: bytes, count: int, suffix: bytes) -> bytes:
    """A raw deflate stream of ``prefix + block * count + suffix``, built in O(len(block)).

    After a full flush the compressor keeps no history, so one block compresses to the same
    bytes every time; the stream is those bytes repeated.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    once = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    if once != again:  # the trick relies on it; fail loudly rather than build a wrong bomb
        raise AssertionError("a full-flushed deflate block did not repeat byte for byte")
    tail = comp.compress(suffix) + comp.flush()
    return head + once * count + tail


def _checksum_of_repeat(
    checksum: Callable[[bytes, int], int],
    start: int,
    prefix: bytes,
    block: bytes,
    count: int,
    suffix: bytes,
) -> int:
    """CRC-32 or Adler-32 of the inflated data (a second or so for 2 GiB): the bombs are honest,
    so only the size guards stop them."""
    value = checksum(prefix, start)
    for _ in range(count):
        value = checksum(block, value)
    return checksum(suffix, value)


def zlib_repeated(prefix: bytes, block: bytes, count: int, suffix: bytes) -> bytes:
    """The same as :func:`deflate_repeated` in a zlib wrapper (what PDF's FlateDecode reads)."""
    adler = _checksum_of_repeat(zlib.adler32, 1, prefix, block, count, suffix)
    return b"\x78\xda" + deflate_repeated(prefix, block, count, suffix) + struct.pack(">I", adler)


# --------------------------------------------------------------------------------------------
# PDFs


def write_truncated_pdf(folder: Path, name: str = "truncated.pdf") -> Path:
    """A readable PDF cut off half way (a download that stopped)."""
    data = sample_pdf()
    path = folder / name
    path.write_bytes(data[: len(data) // 2])
    return path


def write_corrupt_pdf(folder: Path, name: str = "corrupt.pdf") -> Path:
    """A PDF header followed by noise."""
    noise = random.Random(9).randbytes(64 * 1024)
    path = folder / name
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + noise)
    return path


def write_encrypted_pdf(folder: Path, name: str = "encrypted.pdf") -> Path:
    """A PDF that needs a user password to open."""
    path = folder / name
    path.write_bytes(sample_pdf(password="hostile-input-password"))
    return path


def write_blank_pages_pdf(folder: Path, name: str = "blank-pages.pdf") -> Path:
    """Thousands of pages and not a word on any of them."""
    writer = PdfWriter()
    for _ in range(BLANK_PAGES):
        writer.add_blank_page(612, 792)
    path = folder / name
    with open(path, "wb") as f:
        writer.write(f)
    return path


def write_pdf_flate_bomb(folder: Path, name: str = "flate-bomb.pdf") -> Path:
    """One page whose compressed content stream inflates to 1 GiB of drawing operators."""
    block = b"q Q " * (MIB // 4)  # save and restore the graphics state: short, so it packs tight
    count = PDF_BOMB_INFLATED // len(block)
    stream = StreamObject()
    stream.set_data(zlib_repeated(b"", block, count, b""))
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path


def write_page_tree_loop_pdf(folder: Path, name: str = "page-loop.pdf") -> Path:
    """A page tree whose /Kids contains the tree itself: a naive walk never ends."""
    body = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n",
        b"2 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj\n",
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for obj in body:
        offsets.append(len(out))
        out += obj
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n"
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path = folder / name
    path.write_bytes(bytes(out))
    return path


def write_too_large_pdf(folder: Path, size_bytes: int, name: str = "too-large.pdf") -> Path:
    """A file over the size limit; sparse, so it costs no disk and is never read."""
    path = folder / name
    with open(path, "wb") as f:
        f.write(b"%PDF-1.7\n")
        f.truncate(size_bytes)
    return path


def write_good_pdf(folder: Path, name: str = "good-plan.pdf") -> Path:
    """A small readable PDF (the loader tests' sample)."""
    path = folder / name
    path.write_bytes(make_pdf([[(14, "Theatre lists"), (11, "Theatre lists are agreed.")]]))
    return path


# --------------------------------------------------------------------------------------------
# Word documents


def _zip_member(
    name: str, data_crc: int, raw: bytes, size: int, offset: int
) -> tuple[bytes, bytes]:
    """Local header + data, and the central directory entry, for one deflated member."""
    fname = name.encode()
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, data_crc, len(raw), size, len(fname), 0
    )
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0x21,
        data_crc,
        len(raw),
        size,
        len(fname),
        0,
        0,
        0,
        0,
        0,
        offset,
    )
    return local + fname + raw, central + fname


def _docx_parts() -> dict[str, bytes]:
    """Every part of a small, valid Word document."""
    with zipfile.ZipFile(io.BytesIO(make_docx())) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_docx_zip_bomb(folder: Path, name: str = "zip-bomb.docx") -> Path:
    """A .docx whose word/document.xml inflates to 2 GiB (about 2 MB on disk)."""
    prefix = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>"
    )
    suffix = b"</w:t></w:r></w:p></w:body></w:document>"
    block = b"lol " * (MIB // 4)
    count = (ZIP_BOMB_INFLATED - len(prefix) - len(suffix)) // len(block)
    members = {k: v for k, v in _docx_parts().items() if k != "word/document.xml"}
    out = bytearray()
    centrals = []
    for member, data in members.items():
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = comp.compress(data) + comp.flush()
        local, central = _zip_member(member, zlib.crc32(data), raw, len(data), len(out))
        out += local
        centrals.append(central)
    raw = deflate_repeated(prefix, block, count, suffix)
    size = len(prefix) + len(block) * count + len(suffix)
    crc = _checksum_of_repeat(zlib.crc32, 0, prefix, block, count, suffix)
    local, central = _zip_member("word/document.xml", crc, raw, size, len(out))
    out += local
    centrals.append(central)
    cd_start = len(out)
    for central in centrals:
        out += central
    out += struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        len(centrals),
        len(centrals),
        len(out) - cd_start,
        cd_start,
        0,
    )
    path = folder / name
    path.write_bytes(bytes(out))
    return path


def billion_laughs(root: str, levels: int = ENTITY_LEVELS) -> str:
    """An internal DTD subset whose last entity expands to 10 ** levels copies of "lol"."""
    decls = ['<!ENTITY lol0 "lol">']
    for n in range(1, levels):
        decls.append(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">')
    return f"<!DOCTYPE {root} [\n" + "\n".join(decls) + "\n]>\n"


def write_docx_entity_bomb(folder: Path, name: str = "entity-bomb.docx") -> Path:
    """A valid .docx whose document.xml declares a billion-laughs entity and uses it."""
    last = f"&lol{ENTITY_LEVELS - 1};"
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        + billion_laughs("w:document")
        + '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        + f"<w:body><w:p><w:r><w:t>Board paper {last}</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    parts = _docx_parts()
    parts["word/document.xml"] = document
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in parts.items():
            archive.writestr(member, data)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path


def write_corrupt_docx(folder: Path, name: str = "corrupt.docx") -> Path:
    """A Word document cut off half way: the zip's central directory is missing."""
    data = make_docx()
    path = folder / name
    path.write_bytes(data[: len(data) // 2])
    return path


# --------------------------------------------------------------------------------------------
# HTML


def write_html_entity_bomb(folder: Path, name: str = "entity-bomb.html") -> Path:
    """An HTML page carrying a billion-laughs DTD and a reference to its last entity."""
    last = f"&lol{ENTITY_LEVELS - 1};"
    page = (
        billion_laughs("html")
        + f"<html><body><h1>Notice</h1><p>Read this: {last}</p></body></html>\n"
    )
    path = folder / name
    path.write_text(page, encoding="utf-8")
    return path


SCRIPT_MARKER = "hostileScriptMarker"
STYLE_MARKER = "hostile-style-marker"
HIDDEN_FACT = "The Northgate discharge lounge opens at seven in the morning on weekdays."


def write_html_scripts(folder: Path, name: str = "scripts.html", with_text: bool = True) -> Path:
    """About 2 MB of <script> and <style>, around one real paragraph (or none)."""
    script = f"var {SCRIPT_MARKER} = 1; function f(x) {{ return x * 2; }}\n" * 8_000
    style = f".{STYLE_MARKER} {{ color: #005eb8; margin: 0 auto; }}\n" * 8_000
    parts = ["<!DOCTYPE html><html><head><title>Northgate</title>"]
    for _ in range(2):
        parts.append(f"<style>{style}</style><script>{script}</script>")
    parts.append("</head><body>")
    parts.append(f"<script>{script}</script><noscript>{SCRIPT_MARKER}</noscript>")
    if with_text:
        parts.append(f"<h1>Northgate discharge lounge</h1><p>{HIDDEN_FACT}</p>")
    parts.append(f"<style>{style}</style><script>{script}</script></body></html>\n")
    path = folder / name
    path.write_text("".join(parts), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Text


LONG_LINE_FACT = "The Eastfield stroke unit publishes its thrombolysis times every month."


def write_nul_long_line(folder: Path, name: str = "nul-long-line.txt") -> Path:
    """One 100,000-character line of sentences with a few NUL bytes strewn through it."""
    sentence = "Community teams record each visit in the shared care record. "
    line = LONG_LINE_FACT + " " + sentence * (LONG_LINE_CHARS // len(sentence) + 1)
    line = line[:LONG_LINE_CHARS]
    chars = list(line)
    for i in range(5_000, LONG_LINE_CHARS, 9_973):  # 10 NULs, none at the start
        chars[i] = "\x00"
    data = ("".join(chars) + "\n").encode("utf-8")
    path = folder / name
    path.write_bytes(data)
    return path


def write_latin1_text(folder: Path, name: str = "latin1.txt") -> Path:
    """Text saved in Windows-1252, not UTF-8."""
    path = folder / name
    path.write_bytes(
        "Caf\u00e9 budgets: \u00a35,000 for the r\u00e9sum\u00e9 review.\n".encode("cp1252")
    )
    return path


def write_utf16_without_bom(folder: Path, name: str = "utf16.txt") -> Path:
    """UTF-16 text with no byte order mark: half its bytes are NULs."""
    path = folder / name
    path.write_bytes("Theatre lists are agreed a week ahead.\n".encode("utf-16-le"))
    return path


def write_empty(folder: Path, name: str = "empty.md") -> Path:
    path = folder / name
    path.write_bytes(b"")
    return path


def write_binary_as_markdown(folder: Path, name: str = "photo.md") -> Path:
    """A PNG signature and noise behind a .md name."""
    path = folder / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(4096))
    return path


# --------------------------------------------------------------------------------------------
# Names and links


# Names that are legal on Linux but hostile to shells, terminals and naive path handling.
# Each holds a good document, so each should simply be indexed under a sane id.
HOSTILE_NAMES = (
    "$(touch PWNED);.md",
    "`touch PWNED`.md",
    "a|b&c;d>e.md",
    "minutes\u202etxt.md",  # right-to-left override: shows as "minutesdm.txt"
    "fullwidth\uff0f..\uff0fsolidus.md",  # looks like "fullwidth/../solidus.md"
    "cafe\u0301 combining.md",
    "line\nbreak.md",
    "n" * 200 + ".md",
)


def write_hostile_names(folder: Path) -> dict[str, Path]:
    """A short good Markdown document under each hostile name."""
    out = {}
    for i, name in enumerate(HOSTILE_NAMES):
        path = folder / name
        path.write_text(
            f"# Name test {i}\n\nThe quarterly estates return number {i} was filed on time.\n",
            encoding="utf-8",
        )
        out[name] = path
    return out


def write_symlinks_outside(root: Path, outside: Path) -> dict[str, Path]:
    """A file and a folder outside the ingest root, each linked from inside it."""
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.md"
    secret.write_text("# Secret\n\nThe outside-the-root password is swordfish.\n", encoding="utf-8")
    (outside / "folder").mkdir(exist_ok=True)
    (outside / "folder" / "also-secret.md").write_text(
        "# Also secret\n\nswordfish again.\n", encoding="utf-8"
    )
    links = {"link-to-secret.md": secret, "link-to-folder": outside / "folder"}
    out = {}
    for name, target in links.items():
        os.symlink(target, root / name)
        out[name] = root / name
    return out


# --------------------------------------------------------------------------------------------
# Everything at once


HOSTILE_WRITERS: dict[str, Callable[[Path], Path]] = {
    "truncated.pdf": write_truncated_pdf,
    "corrupt.pdf": write_corrupt_pdf,
    "encrypted.pdf": write_encrypted_pdf,
    "blank-pages.pdf": write_blank_pages_pdf,
    "flate-bomb.pdf": write_pdf_flate_bomb,
    "page-loop.pdf": write_page_tree_loop_pdf,
    "zip-bomb.docx": write_docx_zip_bomb,
    "entity-bomb.docx": write_docx_entity_bomb,
    "corrupt.docx": write_corrupt_docx,
    "entity-bomb.html": write_html_entity_bomb,
    "scripts-only.html": lambda folder: write_html_scripts(
        folder, "scripts-only.html", with_text=False
    ),
    "latin1.txt": write_latin1_text,
    "utf16.txt": write_utf16_without_bom,
    "empty.md": write_empty,
    "photo.md": write_binary_as_markdown,
}

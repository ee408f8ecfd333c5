"""Decoding text files: UTF-8 or UTF-16 with a byte order mark, stray NUL and control bytes.

Every text loader (Markdown, plain text, HTML) and the download check in
:mod:`assistant.ingest.fetch` decode through :func:`decode_text`, so a file is refused with the
same message whichever way it arrives.
"""

from __future__ import annotations

import logging
import re

from assistant.errors import DocumentError

__all__ = ["MAX_CONTROL_FRACTION", "decode_text"]

log = logging.getLogger(__name__)

# Stray control bytes in text: C0 controls other than tab, newline, carriage return and form
# feed (a page break). Up to this fraction of a file's bytes are dropped; more means binary.
_CONTROL_BYTES = bytes(b for b in range(32) if chr(b) not in "\t\n\r\f")
_CONTROL_CHARS = re.compile("[" + re.escape(_CONTROL_BYTES.decode("ascii")) + "]")
MAX_CONTROL_FRACTION = 0.01

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_text(data: bytes) -> str:
    """Decode text: UTF-8 (a BOM is fine) or UTF-16 with a BOM; anything else is refused.

    A few stray NUL or control bytes in otherwise good text (a bad export, a padded log) are
    dropped; a file with many of them is binary, or UTF-16 saved without a byte order mark.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    f"not valid {codec.upper()} text: bad bytes at offset {exc.start}"
                ) from exc
    nul = data.find(b"\x00")
    if nul >= 0 and _looks_like_utf16(data[:4096]):
        raise DocumentError(
            "UTF-16 text without a byte order mark: save the file as UTF-8 (or UTF-16 with a BOM)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if nul >= 0:
            raise DocumentError(
                f"binary content behind a text extension (NUL byte at offset {nul})"
            ) from exc
        raise DocumentError(
            f"not UTF-8 text: invalid byte 0x{data[exc.start]:02x} at offset {exc.start}; "
            "save the file as UTF-8"
        ) from exc
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if not controls:
        return text
    if controls > len(data) * MAX_CONTROL_FRACTION:
        where = f"NUL byte at offset {nul}" if nul >= 0 else "control characters"
        raise DocumentError(f"binary content behind a text extension ({where})")
    log.info("dropped %d stray NUL or control characters", controls)
    return _CONTROL_CHARS.sub(lambda m: "" if m.group() == "\x00" else " ", text)


def _looks_like_utf16(sample: bytes) -> bool:
    """Mostly-ASCII UTF-16: NULs in nearly every other byte, and hardly any in the rest."""
    half = len(sample) // 2
    if half < 4:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) >= 0.6 * half and min(even, odd) <= 0.05 * half

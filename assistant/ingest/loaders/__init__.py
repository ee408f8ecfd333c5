"""Loaders: one per file format, each turning a file into metadata plus blocks in reading order.

``load_document`` picks the loader from the file's content as well as its extension, repairs the
text (see :mod:`assistant.ingest.repair`) and lets the manifest's values win over what the file
says about itself. Any file that cannot be read raises :class:`DocumentError` with one line a
user can act on; other documents carry on.

The package, by job:

- :mod:`.base`: the :class:`Loader` protocol and :class:`DraftLoader`, the base of the built-ins;
- :mod:`.registry`: the loaders, detection, and every list of supported extensions;
- :mod:`.markdown`, :mod:`.text`, :mod:`.html`, :mod:`.pdf`, :mod:`.docx`: one loader each;
- :mod:`.decoding` (text, NUL and control bytes) and :mod:`.guards` (zip and entity bombs);
- :mod:`.metadata` (dates, titles, front matter, manifest overrides), :mod:`.cleanup` (text
  tidying every loader shares) and :mod:`.lines` (the units Markdown and text are read into).

A new format is one :class:`Loader` class added to :func:`builtin_loaders`.
"""

from __future__ import annotations

from assistant.ingest.loaders.base import Draft, DraftLoader, Loader, Precedence, Sample
from assistant.ingest.loaders.decoding import MAX_CONTROL_FRACTION, decode_text
from assistant.ingest.loaders.guards import (
    DTD_SCAN_BYTES,
    MAX_DOCX_ENTRIES,
    MAX_DOCX_RATIO,
    MAX_DOCX_UNCOMPRESSED,
)
from assistant.ingest.loaders.registry import (
    LoaderRegistry,
    builtin_loaders,
    default_registry,
    detect_kind,
    load_bytes,
    load_document,
    supported_extensions,
)

__all__ = [
    "DTD_SCAN_BYTES",
    "MAX_CONTROL_FRACTION",
    "MAX_DOCX_ENTRIES",
    "MAX_DOCX_RATIO",
    "MAX_DOCX_UNCOMPRESSED",
    "SUPPORTED_EXTENSIONS",
    "Draft",
    "DraftLoader",
    "Loader",
    "LoaderRegistry",
    "Precedence",
    "Sample",
    "builtin_loaders",
    "decode_text",
    "default_registry",
    "detect_kind",
    "load_bytes",
    "load_document",
    "supported_extensions",
]

# The built-in formats' extensions, as at import. Code that must also see a loader registered
# later calls supported_extensions().
SUPPORTED_EXTENSIONS = supported_extensions()

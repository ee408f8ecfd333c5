"""The corpus manifest (corpus/sources.toml): what is known about each document by file name."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from assistant.errors import ConfigurationError
from assistant.ingest.loaders.metadata import OVERRIDABLE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MANIFEST = PROJECT_ROOT / "corpus" / "sources.toml"
OVERRIDE_FIELDS = OVERRIDABLE  # what a manifest entry may say about its files


class Manifest:
    """Metadata overrides keyed by file name (``files = [...]`` of each ``[[source]]``).

    >>> Manifest.empty().overrides_for("plan.pdf")
    {}
    """

    def __init__(self, sources: list[dict[str, Any]]) -> None:
        self.sources = sources
        self._by_file: dict[str, dict[str, Any]] = {}
        for src in sources:
            meta = {k: src[k] for k in OVERRIDE_FIELDS if src.get(k)}
            if "url" in src and "source_url" not in meta:
                meta["source_url"] = src["url"]
            for name in src.get("files", []):
                self._by_file[name.lower()] = meta

    @classmethod
    def empty(cls) -> Manifest:
        return cls([])

    @classmethod
    def load(cls, path: Path | None = None) -> Manifest:
        path = path or DEFAULT_MANIFEST
        if not path.exists():
            return cls.empty()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"manifest {path} is not valid TOML: {exc}") from exc
        return cls(list(data.get("source", [])))

    def title_for_id(self, source_id: str) -> str | None:
        """The title of the source with this ``id`` (how the briefings cite it)."""
        for src in self.sources:
            if src.get("id") == source_id and src.get("title"):
                return str(src["title"])
        return None

    def overrides_for(self, file_name: str) -> dict[str, Any]:
        return dict(self._by_file.get(file_name.lower(), {}))

"""Download the official documents named in corpus/sources.toml into a local folder.

Polite and crash-safe: one request at a time with a user agent naming the project, retries with
exponential backoff on connection errors, timeouts, 429 (honouring Retry-After up to a cap) and
5xx, a size cap enforced while streaming, and atomic writes (``name.part`` renamed only once the
bytes are complete and verified). An interrupted ``name.part`` is continued with a Range request
when the server allows it. A file already present is left alone when its SHA-256 matches the
manifest or, with no hash in the manifest, when a conditional request (ETag/Last-Modified kept in
``.fetch-state.json`` beside the files) answers 304. Each file is named after the entry's first
``files`` name, so ingestion finds its title, publisher and licence in the manifest.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import re
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from assistant.config import BYTES_PER_MB
from assistant.errors import ConfigurationError, DocumentError, InvalidInputError
from assistant.ingest.loaders import decode_text, default_registry
from assistant.ingest.manifest import DEFAULT_MANIFEST, PROJECT_ROOT
from assistant.ingest.pipeline import file_sha256

logger = logging.getLogger(__name__)

DEFAULT_DEST = PROJECT_ROOT / "corpus" / "fetched"
USER_AGENT = "nhs-assistant/0.1 (+https://github.com/OWNER/nhs-assistant)"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_TRIES = 3
DEFAULT_MAX_MB = 100.0
DEFAULT_BACKOFF_S = 1.0  # first retry waits this long, then twice as long each time
MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After is cut to this
PART_SUFFIX = ".part"
STATE_FILE = ".fetch-state.json"
STATE_VERSION = 1
SNIFF_BYTES = 1024
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE_RE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")

FetchStatus = Literal["downloaded", "unchanged", "resumed", "skipped", "failed"]


# ============================================================================================
# What to fetch, how, and what happened


@dataclass(frozen=True)
class Source:
    """One manifest entry as the fetcher sees it."""

    id: str
    url: str | None
    file_name: str | None
    sha256: str | None = None
    redistribute: bool = True

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Source:
        """Build from one ``[[source]]`` table of sources.toml."""
        files = entry.get("files") or []
        sha = entry.get("sha256")
        return cls(
            id=str(entry.get("id") or (files[0] if files else "?")),
            url=str(entry["url"]).strip() if entry.get("url") else None,
            file_name=str(files[0]) if files else None,
            sha256=str(sha).strip().lower().removeprefix("sha256:") if sha else None,
            redistribute=bool(entry.get("redistribute", True)),
        )


@dataclass(frozen=True)
class FetchOptions:
    """Where files go and how politely they are fetched."""

    dest: Path = DEFAULT_DEST
    timeout_s: float = DEFAULT_TIMEOUT_S
    tries: int = DEFAULT_TRIES
    max_mb: float = DEFAULT_MAX_MB
    backoff_s: float = DEFAULT_BACKOFF_S
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    user_agent: str = USER_AGENT

    @property
    def max_bytes(self) -> int:
        """The size cap in bytes."""
        return int(self.max_mb * BYTES_PER_MB)


@dataclass
class FetchProgress:
    """Callbacks for a progress display (the CLI draws a bar; tests pass nothing)."""

    on_start: Callable[[str, int | None, int], None] = lambda source_id, total, done: None
    on_bytes: Callable[[str, int], None] = lambda source_id, n: None
    on_done: Callable[[FetchOutcome], None] = lambda outcome: None


@dataclass(frozen=True)
class FetchOutcome:
    """What happened to one entry; ``detail`` is the one-line reason of a failure or a note."""

    source_id: str
    file_name: str | None
    status: FetchStatus
    detail: str = ""
    bytes_received: int = 0
    size: int | None = None
    redistribute: bool = True


@dataclass
class FetchReport:
    """Every entry's outcome, in manifest order."""

    outcomes: list[FetchOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[FetchOutcome]:
        """The outcomes that failed."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def bytes_received(self) -> int:
        """Body bytes received in this run."""
        return sum(o.bytes_received for o in self.outcomes)

    def count(self, status: FetchStatus) -> int:
        """How many entries ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)


class FetchError(Exception):
    """One entry failed; ``str(err)`` is the one-line reason."""


class _Retryable(FetchError):
    """A failure worth another try (connection, timeout, 429, 5xx)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _RestartFromZero(FetchError):
    """The partial file cannot be continued; start again without waiting."""


@dataclass
class _Transfer:
    """One completed transfer into ``name.part``."""

    received: int
    resumed_from: int
    restarted: bool
    etag: str | None
    last_modified: str | None
    content_type: str


# ============================================================================================
# The manifest and the state file


def load_sources(path: Path | None = None) -> list[Source]:
    """The entries of a sources.toml (default: the project's)."""
    path = path or DEFAULT_MANIFEST
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"manifest {path} is not valid TOML: {exc}") from exc
    return [Source.from_entry(e) for e in data.get("source", [])]


def select_sources(sources: list[Source], only: Iterable[str] | None) -> list[Source]:
    """The entries named by ``only`` (all when empty); an unknown id is an error."""
    wanted = list(only or [])
    if not wanted:
        return sources
    known = {s.id for s in sources}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise InvalidInputError(f"no source with id {', '.join(unknown)} in the manifest")
    return [s for s in sources if s.id in wanted]


class FetchState:
    """Validators (ETag, Last-Modified) and hashes of fetched files, in ``.fetch-state.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, dict[str, Any]] = self._read(path)

    @staticmethod
    def _read(path: Path) -> dict[str, dict[str, Any]]:
        """The recorded files; a missing or damaged state file means none."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return dict(data.get("files", {}))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError) as exc:
            logger.warning("ignoring unreadable %s: %s", path, exc)
            return {}

    def get(self, name: str) -> dict[str, Any]:
        """The record of one file name (empty if none)."""
        return dict(self.files.get(name, {}))

    def put(self, name: str, record: dict[str, Any]) -> None:
        """Replace the record of one file name and save at once."""
        self.files[name] = record
        self.save()

    def save(self) -> None:
        """Write atomically (temporary file, then rename)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        body = {"version": STATE_VERSION, "files": self.files}
        tmp.write_text(json.dumps(body, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


# ============================================================================================
# Small pure helpers


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def looks_like_html(head: bytes) -> bool:
    """Whether the first bytes of a body are an HTML page."""
    text = head[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text


def check_content(path: Path, file_name: str, content_type: str = "") -> None:
    """Raise FetchError unless the bytes look like the type the file name declares."""
    suffix = Path(file_name).suffix.lower()
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise FetchError("empty response")
    if suffix == ".pdf":
        if b"%PDF-" in head:
            return
        if looks_like_html(head) or "html" in content_type.lower():
            raise FetchError("not a PDF: server returned HTML")
        raise FetchError(f"not a PDF: starts with {head[:16]!r}")
    if suffix in default_registry.text_extensions():
        try:
            decode_text(path.read_bytes())
        except DocumentError as exc:
            raise FetchError(f"not text: {exc}") from exc


def _safe_file_name(name: str | None) -> str:
    """The entry's file name, refused if it could escape the destination folder."""
    if not name:
        raise FetchError("no file name in the manifest entry (files = [...])")
    if Path(name).name != name or name in (".", "..") or name == STATE_FILE:
        raise FetchError(f"unsafe file name {name!r}")
    return name


def _check_entry(source: Source) -> None:
    """Raise FetchError for a URL or hash the fetcher cannot use."""
    assert source.url is not None
    try:
        scheme = httpx.URL(source.url).scheme
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL {source.url!r}: {exc}") from exc
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL {source.url!r}: only http and https")
    if source.sha256 is not None and not _SHA256_RE.match(source.sha256):
        raise FetchError("manifest sha256 is not 64 hexadecimal digits")


def _mb(n: float) -> str:
    """A size cap as shown to people: '100 MB', '0.5 MB'."""
    return f"{n:g} MB"


def _part_path(target: Path) -> Path:
    """Where a download in progress is written."""
    return target.with_name(target.name + PART_SUFFIX)


def _unlink(path: Path) -> None:
    """Remove a file if it is there."""
    path.unlink(missing_ok=True)


def _expected_total(resp: httpx.Response, offset: int) -> int | None:
    """The full size of the file from Content-Range or Content-Length, if the server says."""
    match = _CONTENT_RANGE_RE.match(resp.headers.get("content-range", ""))
    if match and match.group(3) != "*":
        return int(match.group(3))
    length = resp.headers.get("content-length")
    if length and length.isdigit() and not resp.headers.get("content-encoding"):
        return offset + int(length)
    return None


# ============================================================================================
# The fetcher


class Fetcher:
    """Fetches manifest entries one after another with a single HTTP client."""

    def __init__(
        self,
        options: FetchOptions | None = None,
        progress: FetchProgress | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options or FetchOptions()
        self.progress = progress or FetchProgress()
        self.sleep = sleep
        self._transport = transport

    def run(self, sources: Iterable[Source]) -> FetchReport:
        """Fetch every entry; one entry's failure never stops the others."""
        t0 = time.perf_counter()
        dest = self.options.dest
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create {dest}: {exc.strerror or exc}") from exc
        state = FetchState(dest / STATE_FILE)
        report = FetchReport()
        with self._client() as client:
            for source in sources:
                outcome = self._fetch_entry(client, state, source)
                report.outcomes.append(outcome)
                self.progress.on_done(outcome)
        report.seconds = time.perf_counter() - t0
        return report

    def _client(self) -> httpx.Client:
        """One client, one connection: requests never run in parallel."""
        return httpx.Client(
            headers={"User-Agent": self.options.user_agent, "Accept-Encoding": "identity"},
            timeout=httpx.Timeout(self.options.timeout_s),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            follow_redirects=True,
            transport=self._transport,
        )

    def _fetch_entry(self, client: httpx.Client, state: FetchState, source: Source) -> FetchOutcome:
        """Fetch one entry and say what happened."""
        if not source.url:
            return self._outcome(source, "skipped", "no URL")
        try:
            name = _safe_file_name(source.file_name)
            _check_entry(source)
            return _FetchJob(self, client, state, source, name).run()
        except FetchError as exc:
            return self._outcome(source, "failed", str(exc))
        except OSError as exc:
            return self._outcome(source, "failed", f"cannot write the file: {exc.strerror or exc}")

    @staticmethod
    def _outcome(source: Source, status: FetchStatus, detail: str = "", **kw: Any) -> FetchOutcome:
        """An outcome carrying the entry's id, file name and redistribution flag."""
        return FetchOutcome(
            source_id=source.id,
            file_name=source.file_name,
            status=status,
            detail=detail,
            redistribute=source.redistribute,
            **kw,
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try ``attempt + 1``: Retry-After (capped) or backoff."""
        if retry_after is not None:
            return min(retry_after, self.options.max_retry_after_s)
        return self.options.backoff_s * 2 ** (attempt - 1)


class _FetchJob:
    """The fetch of one entry into ``dest/name``."""

    def __init__(
        self,
        fetcher: Fetcher,
        client: httpx.Client,
        state: FetchState,
        source: Source,
        name: str,
    ) -> None:
        self.fetcher, self.client, self.state, self.source = fetcher, client, state, source
        self.options = fetcher.options
        self.target = self.options.dest / name
        self.part = _part_path(self.target)
        self.name = name
        self.received = 0

    # -- the steps ------------------------------------------------------------------------

    def run(self) -> FetchOutcome:
        """Skip an unchanged file, else download, verify and move into place."""
        if self._hash_matches():
            return self._outcome("unchanged", "SHA-256 matches the manifest")
        self._drop_stale_part()
        transfer = self._transfer(self._conditional_headers())
        if transfer is None:
            return self._outcome("unchanged", "not modified (HTTP 304)")
        try:
            digest = self._verify(transfer)
        except FetchError:
            if not transfer.resumed_from:
                raise
            logger.info("%s: continued file failed its checks; fetching it whole", self.name)
            transfer = self._transfer({})
            assert transfer is not None
            digest = self._verify(transfer)
        return self._finish(transfer, digest)

    def _hash_matches(self) -> bool:
        """Whether the file is present and matches the manifest's SHA-256."""
        if not self.source.sha256 or not self.target.is_file():
            return False
        return file_sha256(self.target) == self.source.sha256

    def _conditional_headers(self) -> dict[str, str]:
        """If-None-Match/If-Modified-Since for a file fetched before, when no hash is given."""
        record = self.state.get(self.name)
        if self.source.sha256 or self.part.exists() or record.get("url") != self.source.url:
            return {}
        if not self.target.is_file() or self.target.stat().st_size == 0:
            return {}
        if record.get("sha256") and file_sha256(self.target) != record["sha256"]:
            return {}
        headers = {}
        if record.get("etag"):
            headers["If-None-Match"] = record["etag"]
        if record.get("last_modified"):
            headers["If-Modified-Since"] = record["last_modified"]
        return headers

    def _drop_stale_part(self) -> None:
        """Delete a partial file that was started from another URL."""
        partial = self.state.get(self.name).get("partial", {})
        if self.part.exists() and partial.get("url") not in (None, self.source.url):
            _unlink(self.part)

    def _transfer(self, conditional: dict[str, str]) -> _Transfer | None:
        """Download into ``name.part`` with retries; None when the server answers 304."""
        attempt, restarted_once = 0, False
        while True:
            attempt += 1
            try:
                return self._request(conditional)
            except _RestartFromZero:
                _unlink(self.part)
                if restarted_once:
                    raise
                restarted_once, attempt = True, attempt - 1
            except _Retryable as exc:
                if attempt >= self.options.tries:
                    raise FetchError(f"{exc} (gave up after {attempt} tries)") from exc
                wait = self.fetcher.delay(attempt, exc.retry_after)
                logger.info("%s: %s; retrying in %.1f s", self.name, exc, wait)
                self.fetcher.sleep(wait)

    def _request(self, conditional: dict[str, str]) -> _Transfer | None:
        """One GET: continue the partial file if there is one, else fetch it whole."""
        offset = self.part.stat().st_size if self.part.exists() else 0
        headers = self._range_headers(offset) if offset else dict(conditional)
        try:
            with self.client.stream("GET", self.source.url or "", headers=headers) as resp:
                return self._receive(resp, offset, conditional=bool(headers) and not offset)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out after {self.options.timeout_s:g} s") from exc
        except httpx.UnsupportedProtocol as exc:
            raise FetchError(f"cannot fetch: {exc}") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed: {exc}") from exc
        except httpx.RequestError as exc:  # too many redirects, undecodable body
            raise FetchError(f"request failed: {exc}") from exc

    def _range_headers(self, offset: int) -> dict[str, str]:
        """Range (and If-Range, when the partial file's validator is known) to continue."""
        headers = {"Range": f"bytes={offset}-"}
        partial = self.state.get(self.name).get("partial", {})
        etag = partial.get("etag") or ""
        if etag and not etag.startswith("W/"):
            headers["If-Range"] = etag
        elif partial.get("last_modified"):
            headers["If-Range"] = partial["last_modified"]
        return headers

    def _receive(self, resp: httpx.Response, offset: int, conditional: bool) -> _Transfer | None:
        """Check the status, then stream the body into the partial file."""
        self._check_status(resp, offset, conditional)
        if resp.status_code == 304:
            return None
        resumed = resp.status_code == 206
        if resumed:
            self._check_content_range(resp, offset)
        start = offset if resumed else 0
        total = _expected_total(resp, start)
        if total is not None and total > self.options.max_bytes:
            _unlink(self.part)
            raise FetchError(f"larger than {_mb(self.options.max_mb)} ({total:,} bytes)")
        if not resumed:
            self._remember_partial(resp)
        self.fetcher.progress.on_start(self.source.id, total, start)
        self._stream(resp, start, total)
        return _Transfer(
            received=self.received,
            resumed_from=start,
            restarted=bool(offset) and not resumed,
            etag=resp.headers.get("etag"),
            last_modified=resp.headers.get("last-modified"),
            content_type=resp.headers.get("content-type", ""),
        )

    @staticmethod
    def _check_status(resp: httpx.Response, offset: int, conditional: bool) -> None:
        """Raise for a status that is not a body or an expected 304 (retryable or not)."""
        code = resp.status_code
        if code == 200 or (code == 206 and offset) or (code == 304 and conditional):
            return
        if code == 416 and offset:
            raise _RestartFromZero("the server refused to continue the partial file (HTTP 416)")
        reason = f"HTTP {code} {resp.reason_phrase}".strip()
        if code == 429 or code >= 500:
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            raise _Retryable(reason, retry_after=retry_after)
        raise FetchError(reason if code >= 400 else f"unexpected {reason}")

    @staticmethod
    def _check_content_range(resp: httpx.Response, offset: int) -> None:
        """A 206 must continue exactly where the partial file stops."""
        match = _CONTENT_RANGE_RE.match(resp.headers.get("content-range", ""))
        if not match or int(match.group(1)) != offset:
            raise _RestartFromZero("the server sent a range that does not continue the file")

    def _remember_partial(self, resp: httpx.Response) -> None:
        """Record the validators of a download starting from zero, for If-Range later."""
        record = self.state.get(self.name)
        record["partial"] = {
            "url": self.source.url,
            "etag": resp.headers.get("etag"),
            "last_modified": resp.headers.get("last-modified"),
        }
        self.state.put(self.name, record)

    def _stream(self, resp: httpx.Response, start: int, total: int | None) -> None:
        """Append the body to the partial file, enforcing the size cap as bytes arrive."""
        written = 0
        mode = "ab" if start else "wb"
        try:
            with open(self.part, mode) as f:
                for chunk in resp.iter_bytes():
                    if start + written + len(chunk) > self.options.max_bytes:
                        raise FetchError(f"larger than {_mb(self.options.max_mb)}")
                    f.write(chunk)
                    written += len(chunk)
                    self.received += len(chunk)
                    self.fetcher.progress.on_bytes(self.source.id, len(chunk))
        except FetchError:
            _unlink(self.part)
            raise
        except httpx.TimeoutException as exc:
            got = start + written
            raise _Retryable(
                f"timed out after {self.options.timeout_s:g} s ({got:,} bytes received)"
            ) from exc
        except httpx.TransportError as exc:
            got = start + written
            of = f" of {total:,}" if total else ""
            raise _Retryable(f"connection closed after {got:,}{of} bytes") from exc
        if total is not None and start + written < total:
            raise _Retryable(f"connection closed after {start + written:,} of {total:,} bytes")

    def _verify(self, transfer: _Transfer) -> str:
        """Check the type and the hash; a file that fails is deleted. Returns the SHA-256."""
        try:
            check_content(self.part, self.name, transfer.content_type)
            digest = file_sha256(self.part)
            expected = self.source.sha256
            if expected and digest != expected:
                raise FetchError(f"SHA-256 mismatch: expected {expected[:12]}…, got {digest[:12]}…")
        except FetchError:
            _unlink(self.part)
            raise
        return digest

    def _finish(self, transfer: _Transfer, digest: str) -> FetchOutcome:
        """Move the verified file into place and record its validators."""
        os.replace(self.part, self.target)
        size = self.target.stat().st_size
        self.state.put(
            self.name,
            {
                "url": self.source.url,
                "etag": transfer.etag,
                "last_modified": transfer.last_modified,
                "sha256": digest,
                "size": size,
                "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        if transfer.resumed_from:
            return self._outcome("resumed", f"continued from byte {transfer.resumed_from:,}", size)
        note = "server ignored Range; restarted from zero" if transfer.restarted else ""
        return self._outcome("downloaded", note, size)

    def _outcome(self, status: FetchStatus, detail: str, size: int | None = None) -> FetchOutcome:
        """An outcome for this entry with the bytes received so far."""
        if size is None and self.target.is_file():
            size = self.target.stat().st_size
        return Fetcher._outcome(
            self.source, status, detail, bytes_received=self.received, size=size
        )


# ============================================================================================
# The service


def fetch_corpus(
    manifest: Path | None = None,
    options: FetchOptions | None = None,
    only: Iterable[str] | None = None,
    progress: FetchProgress | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchReport:
    """Fetch the manifest's entries (or those named in ``only``) into ``options.dest``."""
    sources = select_sources(load_sources(manifest), only)
    fetcher = Fetcher(options, progress, transport=transport, sleep=sleep)
    return fetcher.run(sources)

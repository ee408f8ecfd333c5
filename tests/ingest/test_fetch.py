"""`corpus fetch` against a real HTTP server on loopback serving files from ../shared/corpus."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.ingest.fetch import (
    STATE_FILE,
    FetchOptions,
    FetchOutcome,
    FetchProgress,
    FetchReport,
    fetch_corpus,
    parse_retry_after,
)
from tests.conftest import free_port

TXT = "ippr-building-foundations-for-nhs-transformation-2025.txt"
MD = "nhse-board-paper-nhs-productivity-dec-2024.md"
PDF = "hee-data-driven-healthcare-2030-summary-2021.pdf"
LAST_MODIFIED = "Wed, 03 Dec 2025 10:00:00 GMT"
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>Sorry</body></html>"
)


# ============================================================================================
# The loopback server


class CorpusServer(ThreadingHTTPServer):
    """Serves corpus files under /files/NAME, plus paths that misbehave on purpose."""

    daemon_threads = True

    def __init__(self, port: int, root: Path) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.root = root
        self.ranges = True  # False: ignore Range, answer 200 with the whole file
        self.truncate = True  # /truncated/ cuts whole-file answers short
        self.body_bytes = 0  # body bytes written, all paths
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: clients that give up (timeouts, size cap) make the server's writes fail."""

    def hit(self, path: str) -> int:
        """Count a request to ``path``; returns how many there have been."""
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            return self.hits[path]


class Handler(BaseHTTPRequestHandler):
    """GET only; the first path segment chooses the behaviour."""

    server: CorpusServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """Dispatch on /KIND/NAME."""
        _, kind, name = self.path.split("/", 2)
        n = self.server.hit(self.path)
        self.server.requests.append((self.path, dict(self.headers.items())))
        data = (
            (self.server.root / name).read_bytes() if (self.server.root / name).is_file() else b""
        )
        if kind == "flaky" and n <= 2:
            return self._status(500)
        if kind == "down":
            return self._status(503)
        if kind == "busy" and n == 1:
            return self._status(429, {"Retry-After": "3600"})
        if kind == "missing" or not data:
            return self._status(404)
        if kind == "slow":
            time.sleep(1.0)
        if kind == "wrong":
            data = data.replace(b"NHS", b"XYZ")
        if kind == "html":
            return self._send(200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        if kind == "nolength":
            return self._send(200, data, {}, length=False)
        self._serve_file(kind, data)

    def _serve_file(self, kind: str, data: bytes) -> None:
        """A file with ETag, Last-Modified, conditional GET and (optionally) ranges."""
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
        if self.headers.get("If-None-Match") == etag:
            return self._status(304, headers)
        wanted = self.headers.get("Range", "")
        if_range = self.headers.get("If-Range")
        if self.server.ranges and wanted.startswith("bytes=") and if_range in (None, etag):
            start = int(wanted[len("bytes=") :].rstrip("-"))
            if start >= len(data):
                return self._status(416, {"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return self._send(206, data[start:], headers)
        if self.server.ranges:
            headers["Accept-Ranges"] = "bytes"
        if kind == "truncated" and self.server.truncate:
            return self._send(200, data, headers, cut=len(data) // 2)
        self._send(200, data, headers)

    def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
        """A response with no body."""
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(
        self,
        code: int,
        body: bytes,
        headers: dict[str, str],
        length: bool = True,
        cut: int | None = None,
    ) -> None:
        """A response with a body; ``cut`` sends only that many bytes, then closes."""
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = body[:cut] if cut is not None else body
        with self.server.lock:  # counted before the client can have read it all
            self.server.body_bytes += len(sent)
        self.wfile.write(sent)


@pytest.fixture
def server(shared_corpus: Path) -> Iterator[CorpusServer]:
    """A threaded HTTP server on 127.0.0.1 for one test."""
    srv = CorpusServer(free_port(), shared_corpus)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


# ============================================================================================
# Helpers


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(path: Path, entries: list[dict[str, object]]) -> Path:
    """A sources.toml with one [[source]] per entry (strings, booleans, lists of strings)."""
    lines: list[str] = []
    for entry in entries:
        lines.append("[[source]]")
        for key, value in entry.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def entry(source_id: str, url: str | None, file_name: str, **extra: object) -> dict[str, object]:
    """One manifest entry."""
    out: dict[str, object] = {"id": source_id, "title": f"Title of {source_id}"}
    if url:
        out["url"] = url
    out["files"] = [file_name]
    out.update(extra)
    return out


def by_id(report: FetchReport) -> dict[str, FetchOutcome]:
    return {o.source_id: o for o in report.outcomes}


def fast(dest: Path, **kw: object) -> FetchOptions:
    """Options for tests: no waiting between tries, short timeout."""
    settings: dict[str, object] = {"backoff_s": 0.0, "timeout_s": 5.0, **kw}
    return FetchOptions(dest=dest, **settings)  # type: ignore[arg-type]


# ============================================================================================
# Downloads, re-runs, resume


@pytest.mark.integration
def test_downloads_real_files_with_hash_check_then_reports_unchanged(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path / "sources.toml",
        [
            entry("txt", f"{server.url}/files/{TXT}", TXT, sha256=sha(shared_corpus / TXT)),
            entry("md", f"{server.url}/files/{MD}", MD),
            entry("pdf", f"{server.url}/files/{PDF}", PDF, sha256=sha(shared_corpus / PDF)),
            entry("local", None, "local-only.md"),
        ],
    )
    dest = tmp_path / "fetched"
    seen: list[int] = []
    progress = FetchProgress(on_bytes=lambda source_id, n: seen.append(n))
    first = fetch_corpus(manifest, fast(dest), progress=progress)
    got = by_id(first)
    assert [got[i].status for i in ("txt", "md", "pdf")] == ["downloaded"] * 3
    assert got["local"].status == "skipped" and got["local"].detail == "no URL"
    for name in (TXT, MD, PDF):
        assert (dest / name).read_bytes() == (shared_corpus / name).read_bytes()
        assert not (dest / (name + ".part")).exists()
    assert sum(seen) == first.bytes_received == server.body_bytes
    state = json.loads((dest / STATE_FILE).read_text())["files"]
    assert state[MD]["etag"] and state[MD]["sha256"] == sha(shared_corpus / MD)
    agents = {h.get("User-Agent", "") for _, h in server.requests}
    assert all(a.startswith("nhs-assistant/0.1 (+https://") for a in agents)

    served_before, requests_before = server.body_bytes, len(server.requests)
    second = fetch_corpus(manifest, fast(dest))
    assert [o.status for o in second.outcomes] == ["unchanged"] * 3 + ["skipped"]
    assert server.body_bytes == served_before and second.bytes_received == 0
    # the hashed entries need no request at all; the other one asks with its ETag and gets 304
    assert [p for p, _ in server.requests[requests_before:]] == [f"/files/{MD}"]
    assert server.requests[-1][1]["If-None-Match"] == state[MD]["etag"]
    assert not second.failed


@pytest.mark.integration
def test_a_changed_local_file_is_fetched_again(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path / "sources.toml",
        [
            entry("txt", f"{server.url}/files/{TXT}", TXT, sha256=sha(shared_corpus / TXT)),
            entry("md", f"{server.url}/files/{MD}", MD),
        ],
    )
    dest = tmp_path / "fetched"
    fetch_corpus(manifest, fast(dest))
    (dest / TXT).write_text("edited", encoding="utf-8")
    (dest / MD).write_text("edited", encoding="utf-8")
    again = fetch_corpus(manifest, fast(dest))
    assert [o.status for o in again.outcomes] == ["downloaded", "downloaded"]
    assert (dest / MD).read_bytes() == (shared_corpus / MD).read_bytes()


@pytest.mark.integration
def test_resumes_an_interrupted_part_file_with_a_range_request(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    original = (shared_corpus / MD).read_bytes()
    manifest = write_manifest(
        tmp_path / "sources.toml",
        [entry("md", f"{server.url}/files/{MD}", MD, sha256=sha(shared_corpus / MD))],
    )
    dest = tmp_path / "fetched"
    dest.mkdir()
    (dest / (MD + ".part")).write_bytes(original[:5000])
    report = fetch_corpus(manifest, fast(dest))
    outcome = report.outcomes[0]
    assert outcome.status == "resumed" and "5,000" in outcome.detail
    assert outcome.bytes_received == len(original) - 5000 == server.body_bytes
    assert server.requests[-1][1]["Range"] == "bytes=5000-"
    assert (dest / MD).read_bytes() == original
    assert not (dest / (MD + ".part")).exists()


@pytest.mark.integration
def test_restarts_from_zero_when_the_server_ignores_range(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    server.ranges = False
    original = (shared_corpus / MD).read_bytes()
    manifest = write_manifest(
        tmp_path / "sources.toml", [entry("md", f"{server.url}/files/{MD}", MD)]
    )
    dest = tmp_path / "fetched"
    dest.mkdir()
    (dest / (MD + ".part")).write_bytes(b"stale bytes from another run")
    outcome = fetch_corpus(manifest, fast(dest)).outcomes[0]
    assert outcome.status == "downloaded" and "restarted from zero" in outcome.detail
    assert outcome.bytes_received == len(original)
    assert (dest / MD).read_bytes() == original


@pytest.mark.integration
def test_a_part_that_fails_its_hash_after_resuming_is_fetched_whole(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    original = (shared_corpus / MD).read_bytes()
    manifest = write_manifest(
        tmp_path / "sources.toml",
        [entry("md", f"{server.url}/files/{MD}", MD, sha256=sha(shared_corpus / MD))],
    )
    dest = tmp_path / "fetched"
    dest.mkdir()
    (dest / (MD + ".part")).write_bytes(b"X" * 100)  # not the start of this file
    outcome = fetch_corpus(manifest, fast(dest)).outcomes[0]
    assert outcome.status == "downloaded"
    assert (dest / MD).read_bytes() == original


@pytest.mark.integration
def test_truncated_download_fails_keeps_the_part_and_resumes_next_run(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    original = (shared_corpus / MD).read_bytes()
    manifest = write_manifest(
        tmp_path / "sources.toml",
        [entry("md", f"{server.url}/truncated/{MD}", MD, sha256=sha(shared_corpus / MD))],
    )
    dest = tmp_path / "fetched"
    first = fetch_corpus(manifest, fast(dest, tries=1)).outcomes[0]
    assert first.status == "failed"
    half = len(original) // 2
    assert first.detail == (
        f"connection closed after {half:,} of {len(original):,} bytes (gave up after 1 tries)"
    )
    assert (dest / (MD + ".part")).stat().st_size == half
    assert not (dest / MD).exists()

    second = fetch_corpus(manifest, fast(dest, tries=1)).outcomes[0]
    assert second.status == "resumed"
    assert server.requests[-1][1]["Range"] == f"bytes={half}-"
    assert server.requests[-1][1]["If-Range"]  # the validator recorded when the part began
    assert (dest / MD).read_bytes() == original


@pytest.mark.integration
def test_truncation_within_a_run_is_retried_from_where_it_stopped(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path / "sources.toml", [entry("md", f"{server.url}/truncated/{MD}", MD)]
    )
    dest = tmp_path / "fetched"
    outcome = fetch_corpus(manifest, fast(dest)).outcomes[0]
    assert outcome.status == "resumed"
    assert (dest / MD).read_bytes() == (shared_corpus / MD).read_bytes()


# ============================================================================================
# Failures: each has a one-line reason and does not stop the others


@pytest.mark.integration
def test_every_failure_has_its_reason_and_the_good_entries_still_arrive(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    u = server.url
    manifest = write_manifest(
        tmp_path / "sources.toml",
        [
            entry("flaky", f"{u}/flaky/{TXT}", TXT, sha256=sha(shared_corpus / TXT)),
            entry("down", f"{u}/down/{MD}", "down.md"),
            entry("wrong", f"{u}/wrong/{TXT}", "wrong.txt", sha256=sha(shared_corpus / TXT)),
            entry("html", f"{u}/html/{PDF}", "report.pdf"),
            entry("big", f"{u}/files/{MD}", "big.md"),
            entry("big-nolength", f"{u}/nolength/{MD}", "big-nolength.md"),
            entry("missing", f"{u}/missing/{MD}", "missing.md"),
            entry("good", f"{u}/files/{TXT}", "good.txt", redistribute=False),
            entry("no-file", f"{u}/files/{TXT}", "../escape.txt"),
        ],
    )
    dest = tmp_path / "fetched"
    waits: list[float] = []
    report = fetch_corpus(manifest, fast(dest, max_mb=0.01, backoff_s=0.5), sleep=waits.append)
    got = by_id(report)
    assert {i: o.status for i, o in got.items()} == {
        "flaky": "downloaded",
        "down": "failed",
        "wrong": "failed",
        "html": "failed",
        "big": "failed",
        "big-nolength": "failed",
        "missing": "failed",
        "good": "downloaded",
        "no-file": "failed",
    }
    assert got["down"].detail == "HTTP 503 Service Unavailable (gave up after 3 tries)"
    assert got["wrong"].detail.startswith("SHA-256 mismatch: expected ")
    assert got["html"].detail == "not a PDF: server returned HTML"
    assert got["big"].detail == "larger than 0.01 MB (15,060 bytes)"
    assert got["big-nolength"].detail == "larger than 0.01 MB"
    assert got["missing"].detail == "HTTP 404 Not Found"
    assert got["no-file"].detail == "unsafe file name '../escape.txt'"
    assert all("\n" not in o.detail for o in report.outcomes)
    assert got["good"].redistribute is False and got["flaky"].redistribute is True
    # exponential backoff: flaky 0.5 then 1.0; down 0.5 then 1.0; no retry on 404
    assert waits == [0.5, 1.0, 0.5, 1.0]
    assert server.hits[f"/missing/{MD}"] == 1
    kept = sorted(p.name for p in dest.iterdir())
    assert kept == sorted([TXT, "good.txt", STATE_FILE])  # failed files and parts are gone


@pytest.mark.integration
def test_retry_after_is_honoured_up_to_the_cap(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path / "sources.toml", [entry("busy", f"{server.url}/busy/{TXT}", TXT)]
    )
    waits: list[float] = []
    report = fetch_corpus(
        manifest, fast(tmp_path / "fetched", max_retry_after_s=7.0), sleep=waits.append
    )
    assert report.outcomes[0].status == "downloaded"
    assert waits == [7.0]  # the server asked for 3600 s


def test_parse_retry_after_reads_seconds_and_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 12, 3, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 03 Dec 2025 10:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 03 Dec 2025 09:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.integration
def test_a_slow_server_times_out_with_a_clear_reason(server: CorpusServer, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "sources.toml", [entry("slow", f"{server.url}/slow/{TXT}", TXT)]
    )
    options = FetchOptions(dest=tmp_path / "fetched", timeout_s=0.2, tries=2, backoff_s=0.0)
    outcome = fetch_corpus(manifest, options).outcomes[0]
    assert outcome.status == "failed"
    assert outcome.detail == "timed out after 0.2 s (gave up after 2 tries)"


@pytest.mark.integration
def test_only_selects_entries_and_rejects_unknown_ids(server: CorpusServer, tmp_path: Path) -> None:
    from assistant.errors import InvalidInputError

    manifest = write_manifest(
        tmp_path / "sources.toml",
        [
            entry("txt", f"{server.url}/files/{TXT}", TXT),
            entry("md", f"{server.url}/files/{MD}", MD),
        ],
    )
    report = fetch_corpus(manifest, fast(tmp_path / "fetched"), only=["md"])
    assert [o.source_id for o in report.outcomes] == ["md"]
    with pytest.raises(InvalidInputError, match="nope"):
        fetch_corpus(manifest, fast(tmp_path / "fetched"), only=["nope"])


# ============================================================================================
# The command line, then ingestion of what it fetched


runner = CliRunner()


@pytest.mark.integration
def test_cli_fetch_prints_the_table_exits_1_on_failure_and_the_folder_ingests(
    server: CorpusServer,
    shared_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    monkeypatch.setenv("NHS_ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NHS_ASSISTANT_INGEST_MANIFEST", str(tmp_path / "sources.toml"))
    manifest = write_manifest(
        tmp_path / "sources.toml",
        [
            entry("ippr", f"{server.url}/files/{TXT}", TXT, redistribute=False),
            entry("board", f"{server.url}/files/{MD}", MD, sha256=sha(shared_corpus / MD)),
            entry("gone", f"{server.url}/missing/x.md", "gone.md"),
        ],
    )
    dest = tmp_path / "fetched"
    args = ["corpus", "fetch", "--manifest", str(manifest), "--dest", str(dest)]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    for text in ("ippr", "board", "gone", "downloaded", "failed", "HTTP 404 Not Found"):
        assert text in result.output
    assert "local use only" in result.output

    only_good = runner.invoke(app, [*args, "--only", "ippr", "--only", "board"])
    assert only_good.exit_code == 0, only_good.output
    assert "unchanged: 2" in only_good.output

    unknown = runner.invoke(app, [*args, "--only", "nope"])
    assert unknown.exit_code == 2

    ingested = runner.invoke(
        app, ["ingest", str(dest), "--strict", "--json"], catch_exceptions=False
    )
    assert ingested.exit_code == 0, ingested.output
    report = json.loads(ingested.stdout)
    assert sorted(Path(f["path"]).name for f in report["files"]) == sorted([TXT, MD])
    assert {f["status"] for f in report["files"]} == {"indexed"}
    stats = json.loads(runner.invoke(app, ["index", "stats", "--json"]).output)
    titles = {d["title"] for d in stats["by_document"]}
    assert titles == {"Title of ippr", "Title of board"}  # metadata found by file name


@pytest.mark.integration
def test_best_effort_fetch_for_a_first_run_summarises_or_says_it_is_offline(
    server: CorpusServer, shared_corpus: Path, tmp_path: Path
) -> None:
    """`make run` fetches with --best-effort: a line on what arrived; offline, a notice on what
    the index will hold instead, and exit 0 so the run goes on."""
    online = write_manifest(
        tmp_path / "online.toml",
        [
            entry("ippr", f"{server.url}/files/{TXT}", TXT),
            entry("board", f"{server.url}/files/{MD}", MD, sha256=sha(shared_corpus / MD)),
        ],
    )
    args = ["corpus", "fetch", "--best-effort", "--dest", str(tmp_path / "fetched")]
    result = runner.invoke(app, [*args, "--manifest", str(online)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Documents: 2 public documents are in" in result.output
    assert {TXT, MD} <= {p.name for p in (tmp_path / "fetched").iterdir()}

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: as if offline
    offline = write_manifest(
        tmp_path / "offline.toml", [entry("ippr", f"{dead}/files/{TXT}", "other.txt")]
    )
    result = runner.invoke(
        app, [*args, "--manifest", str(offline), "--tries", "1", "--timeout", "2"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.startswith("Offline, or the publishers could not be reached")
    assert "nhs-assistant corpus fetch" in text and "briefings" in text

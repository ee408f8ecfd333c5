"""The benchmark harness: its pure pieces pinned by hand, and one real quick run."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embeddings.fake import HashingEmbedder
from assistant.retrieval.bm25 import BM25Index
from assistant.store.base import StoredChunk
from assistant.store.chroma import ChromaStore
from assistant.text.sentences import split_sentences
from eval.bench import gates
from eval.bench.gates import Check, evaluate, gates_pass
from eval.bench.load import OPENINGS, QuestionQueue, Sample, phrasings, run_load, summarise
from eval.bench.measure import (
    TimingEmbedder,
    forget_questions,
    latency_summary,
    model_tokens,
    peak_rss_mb,
    ratio,
    rss_mb,
)
from eval.bench.recall import exact_top_k, recall_at_k
from eval.bench.report import JSON_NAME, MARKDOWN_NAME, PLOT_NAME, table, write_reports
from eval.bench.run import figures_of, pick_questions
from eval.bench.scale import build_index
from eval.bench.stages import bench_embedding, smallest_files
from eval.bench.synthetic import index_plan, synthetic_chunks
from eval.dataset import EvalItem

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _unit(rng: np.random.Generator, n: int, dim: int = 8) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _real_chunks(n: int = 6, dim: int = 8) -> list[StoredChunk]:
    vectors = _unit(np.random.default_rng(0), n, dim)
    return [
        StoredChunk(
            f"doc{i}:c{i}",
            f"Sentence one of chunk {i}. Sentence two of chunk {i}! Is this three of {i}?",
            {"doc_id": f"doc{i % 2}.md", "title": f"Title {i % 2}", "section": "S"},
            vectors[i],
        )
        for i in range(n)
    ]


def _vector(chunk: StoredChunk) -> np.ndarray:
    assert chunk.embedding is not None
    return chunk.embedding


# -- measuring ------------------------------------------------------------------------------


def test_latency_summary_interpolates_percentiles_like_numpy():
    values = [float(v) for v in range(1, 101)]  # 1..100 ms
    s = latency_summary(values)
    assert s["median"] == pytest.approx(50.5)
    assert s["p95"] == pytest.approx(np.percentile(values, 95))
    assert s["p99"] == pytest.approx(99.01)
    assert s["n"] == 100 and s["mean"] == pytest.approx(50.5)


def test_latency_summary_of_nothing_is_zero_not_an_error():
    assert latency_summary([]) == {"n": 0.0, "median": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}


def test_ratio_is_missing_without_a_usable_baseline():
    assert ratio(30.0, 20.0) == pytest.approx(1.5)
    assert ratio(30.0, None) is None
    assert ratio(None, 20.0) is None
    assert ratio(30.0, 0.0) is None


def test_timing_embedder_passes_vectors_through_and_counts_what_it_saw():
    inner = HashingEmbedder(dimension=16)
    timed = TimingEmbedder(inner)
    got = timed.embed_documents(["care closer to home", "digital"])
    assert np.array_equal(
        got, HashingEmbedder(dimension=16).embed_documents(["care closer to home", "digital"])
    )
    timed.embed_query("what is a plan")
    assert timed.texts == ["care closer to home", "digital", "what is a plan"]
    assert timed.seconds > 0
    timed.reset()
    assert timed.texts == [] and timed.seconds == 0


@pytest.mark.slow
def test_forget_questions_empties_the_minilm_query_cache_behind_a_wrapper():
    from assistant.embeddings.onnx_minilm import OnnxMiniLMEmbedder

    model = OnnxMiniLMEmbedder()
    first = model.embed_query("What is a neighbourhood health team?")
    assert model.embed_query("What is a neighbourhood health team?") is first  # cached
    forget_questions(TimingEmbedder(model))
    again = model.embed_query("What is a neighbourhood health team?")
    assert again is not first and np.allclose(again, first)


def test_peak_rss_is_at_least_the_current_rss_of_this_process():
    import os

    assert peak_rss_mb() >= rss_mb(os.getpid()) * 0.99 > 0


def test_model_tokens_adds_the_two_special_tokens_and_truncates():
    embedder = HashingEmbedder(max_tokens=5)  # counts whitespace words
    assert model_tokens(embedder, ["one two", "a b c d e f g h"]) == (2 + 2) + 5


def test_embedding_comparison_on_a_deterministic_embedder_finds_identical_vectors():
    texts = [f"passage {i} " + "word " * i for i in range(12)]
    result = bench_embedding(HashingEmbedder(), texts)
    assert result["identical"] is True and result["max_abs_diff"] == 0.0
    assert result["passages"] == 12 and result["repeats"] == 2
    assert result["speedup"] == pytest.approx(result["one_by_one_s"] / result["batched_s"])


# -- gates and targets ----------------------------------------------------------------------


def test_ratio_gate_limit_is_a_multiple_of_the_reference_plus_the_floor():
    check = Check("retrieve", "project_ms", "<=", 3.0, "recipe_ms", 20.0)
    assert check.evaluate({"project_ms": 49.0, "recipe_ms": 10.0})["ok"] is True
    assert check.evaluate({"project_ms": 51.0, "recipe_ms": 10.0})["ok"] is False
    assert check.evaluate({"project_ms": 51.0, "recipe_ms": 10.0})["limit"] == pytest.approx(50.0)


def test_minimum_gate_and_fixed_target():
    faster = Check("embed", "batched", ">=", 0.8, "naive")
    assert faster.evaluate({"batched": 8.0, "naive": 10.0})["ok"] is True
    assert faster.evaluate({"batched": 7.9, "naive": 10.0})["ok"] is False
    target = Check("ready", "ready_s", "<=", 10.0)
    assert target.evaluate({"ready_s": 10.0})["ok"] is True
    assert target.rule() == "<= 10"


def test_a_gate_whose_figure_was_not_measured_fails_the_run():
    outcomes = evaluate((Check("x", "missing", "<=", 1.0),), {})
    assert outcomes[0]["ok"] is None
    assert gates_pass(outcomes) is False
    assert gates_pass(evaluate((Check("x", "a", "<=", 1.0),), {"a": 0.5})) is True


def test_quick_gates_use_only_ratios_or_non_time_figures():
    for check in gates.QUICK_GATES:
        timed = check.metric.endswith(("_ms", "_s"))
        assert not timed or check.reference is not None, check.name


# -- synthetic indexes ----------------------------------------------------------------------


def test_synthetic_chunks_are_the_same_for_the_same_seed():
    real = _real_chunks()
    a = list(synthetic_chunks(real, 20, seed=5))
    b = list(synthetic_chunks(real, 20, seed=5))
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert [c.text for c in a] == [c.text for c in b]
    assert all(np.array_equal(_vector(x), _vector(y)) for x, y in zip(a, b, strict=True))
    other = list(synthetic_chunks(real, 20, seed=6))
    assert [c.text for c in a] != [c.text for c in other]


def test_synthetic_chunk_depends_only_on_its_number_not_on_the_batch():
    real = _real_chunks()
    whole = list(synthetic_chunks(real, 10, seed=1))
    tail = list(synthetic_chunks(real, 4, seed=1, start=6))
    assert [c.text for c in whole[6:]] == [c.text for c in tail]


def test_synthetic_chunks_recombine_real_sentences_with_unit_mixed_vectors():
    real = _real_chunks()
    real_sentences = {s for c in real for s in split_sentences(c.text)}
    real_vectors = np.vstack([_vector(c) for c in real])
    for chunk in synthetic_chunks(real, 30, seed=3):
        vector = _vector(chunk)
        assert set(split_sentences(chunk.text)) <= real_sentences
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
        # a mixture of real vectors lies in their span: least squares reproduces it
        coef, *_ = np.linalg.lstsq(real_vectors.T, vector, rcond=None)
        assert np.allclose(real_vectors.T @ coef, vector, atol=1e-4)
        assert chunk.metadata["doc_id"] in {"doc0.md", "doc1.md"}
        assert chunk.chunk_id.startswith("syn:3:")


def test_synthetic_chunks_refuse_sources_without_vectors():
    with pytest.raises(ValueError, match="vectors"):
        list(synthetic_chunks([StoredChunk("a", "text.", {})], 1, seed=0))


def test_index_plan_keeps_real_chunks_and_fills_with_synthetic_ones():
    assert index_plan(real=1159, size=2000) == (1159, 841)
    assert index_plan(real=3000, size=2000) == (2000, 0)


def test_build_index_writes_chroma_and_bm25_in_step(tmp_path):
    """The build child's work, in process: Chroma and BM25 agree, recall is measured."""
    real = _real_chunks(n=20, dim=384)
    source = Settings(data_dir=tmp_path / "source")
    store = ChromaStore("fake-hashing", 384, path=source.data_dir / "chroma")
    store.upsert_chunks(real)
    queries = _unit(np.random.default_rng(1), 5, 384)
    dest = Settings(data_dir=tmp_path / "dest")
    result = build_index(source, dest, size=300, seed=9, queries=queries, model_name="fake-hashing")
    assert (result["real_chunks"], result["synthetic_chunks"], result["chunks"]) == (20, 280, 300)
    assert 0.0 <= result["recall_at_10"] <= 1.0
    built = ChromaStore("fake-hashing", 384, path=dest.data_dir / "chroma")
    bm25 = BM25Index(dest.data_dir / "bm25")
    assert bm25.load() and len(bm25) == 300
    assert bm25.generation == built.generation()  # the query child will not rebuild BM25


# -- recall ---------------------------------------------------------------------------------


def test_exact_top_k_orders_by_cosine_similarity():
    matrix = np.eye(4, dtype=np.float32)
    query = np.array([0.1, 0.9, 0.3, 0.0], dtype=np.float32)
    assert exact_top_k(matrix, ["a", "b", "c", "d"], query, 2) == ["b", "c"]


def test_recall_counts_the_share_of_exact_neighbours_found():
    matrix = _unit(np.random.default_rng(2), 50)
    ids = [f"c{i}" for i in range(50)]
    queries = _unit(np.random.default_rng(3), 4)

    def perfect(q: np.ndarray, k: int) -> list[str]:
        return exact_top_k(matrix, ids, q, k)

    def misses_one(q: np.ndarray, k: int) -> list[str]:
        return [*exact_top_k(matrix, ids, q, k)[:-1], "nowhere"]

    assert recall_at_k(matrix, ids, queries, perfect)["recall"] == 1.0
    assert recall_at_k(matrix, ids, queries, misses_one)["recall"] == pytest.approx(0.9)


# -- choosing what to measure ---------------------------------------------------------------


def _item(qid: str, docs: list[str], answerable: bool = True) -> EvalItem:
    evidence = [{"doc": docs[0], "start": "a", "end": "b"}] if answerable else []
    return EvalItem.model_validate(
        {
            "id": qid,
            "question": f"question {qid}?",
            "answerable": answerable,
            "evidence": evidence,
            "docs": docs,
        }
    )


def test_pick_questions_puts_questions_on_the_subset_first(tmp_path):
    items = [_item("1", ["big.md"]), _item("2", ["small.md"]), _item("3", [], answerable=False)]
    files = [tmp_path / "small.md"]
    assert pick_questions(items, files, 2) == ["question 2?", "question 1?"]
    assert pick_questions(items, files, None) == ["question 1?", "question 2?", "question 3?"]


def test_smallest_files_takes_the_smallest_in_name_order(tmp_path):
    for name, size in (("c.md", 10), ("a.md", 300), ("b.txt", 5)):
        (tmp_path / name).write_text("x" * size)
    files = sorted(tmp_path.iterdir())
    assert [p.name for p in smallest_files(files, 2)] == ["b.txt", "c.md"]


# -- the load generator ---------------------------------------------------------------------


def test_summarise_counts_errors_and_leaves_them_out_of_throughput():
    samples = [Sample(0.1, 10.0, 200), Sample(0.2, 20.0, 200), Sample(0.3, 30.0, 500)]
    result = summarise(samples, measured_s=2.0)
    assert result["requests"] == 3 and result["errors"] == 1
    assert result["rps"] == pytest.approx(1.0)
    assert result["median_ms"] == pytest.approx(20.0)
    assert result["statuses"] == {"200": 2, "500": 1}


class _AskHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_keys: ClassVar[list[str]] = []
    seen_questions: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen_keys.append(self.headers.get("Authorization", ""))
        self.seen_questions.append(body["question"])
        ok = self.path == "/v1/ask" and body["question"]
        payload = b'{"answer": "ok"}'
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.integration
def test_load_generator_drives_concurrent_clients_against_a_loopback_server():
    import asyncio

    server = ThreadingHTTPServer(("127.0.0.1", 0), _AskHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        started = time.perf_counter()
        questions = [f"What is target {i}?" for i in range(40)]
        result = asyncio.run(run_load(url, "k" * 32, questions, 3, duration=0.6, warmup=0.2))
        took = time.perf_counter() - started
        first_run = list(_AskHandler.seen_questions)
        second = asyncio.run(
            run_load(url, "k" * 32, questions, 2, 0.2, 0.0, start=result["next_start"])
        )
    finally:
        server.shutdown()
    assert result["requests"] > 10 and result["errors"] == 0
    assert result["concurrency"] == 3 and result["rps"] > 0
    assert 0.7 <= took < 5
    assert set(_AskHandler.seen_keys) == {"Bearer " + "k" * 32}
    # Every request is a question the server has not seen, within a run and across runs.
    assert result["sent"] == len(first_run) and result["repeats"] == 0
    assert second["repeats"] == 0 and len(set(_AskHandler.seen_questions)) == len(
        _AskHandler.seen_questions
    )


def test_phrasings_are_distinct_and_keep_the_question():
    pool = phrasings(["How do I set up a team?", "What is due by June?"])
    assert len(pool) == 2 * len(OPENINGS) == len(set(pool))
    assert pool[:2] == ["How do I set up a team?", "What is due by June?"]
    assert all("set up a team" in p or "due by June" in p for p in pool)
    queue = QuestionQueue(pool[:3], start=1)
    taken = [queue.take() for _ in range(4)]
    assert taken == [pool[1], pool[2], pool[0], pool[1]] and queue.repeats == 1


# -- the report -----------------------------------------------------------------------------


def _fake_report() -> dict[str, Any]:
    lat = {"n": 3.0, "median": 20.0, "p95": 40.0, "p99": 45.0, "mean": 25.0}
    api_level = {"rps": 35.0, "median_ms": 100.0, "p95_ms": 300.0, "p99_ms": 350.0, "errors": 0}
    ingest = {
        "cold_s": 10.0,
        "docs_per_s": 0.3,
        "chunks_per_s": 5.0,
        "embed_tokens_per_s": 900.0,
        "chunks": 50,
        "files": 3,
    }
    report: dict[str, Any] = {
        "mode": "quick",
        "seconds": 90.0,
        "model_load_s": 1.0,
        "machine": {
            "cpus": 2,
            "python": "3.11",
            "platform": "linux",
            "load_before": [1.0],
            "load_after": [1.5],
        },
        "index": {"chunks": 50},
        "ingest": {**ingest, "reingest_s": 0.5},
        "recipe_ingest": {**ingest, "cold_s": 8.0},
        "embedding": {
            "batched_per_s": 20.0,
            "one_by_one_per_s": 10.0,
            "speedup": 2.0,
            "max_abs_diff": 0.0,
            "identical": True,
        },
        "query": {
            "questions": 3,
            "refused": 0,
            "retrieve": lat,
            "ask": lat,
            "recipe_retrieve": lat,
            "recipe_ask": {**lat, "median": 10.0},
            "ask_stages": {"embed_query": lat, "verification": lat},
        },
        "hnsw": {"recall": 1.0},
        "api": {
            "startup": {"ready_s": 4.0, "idle_rss_mb": 400.0, "rss_after_load_mb": 420.0},
            "levels": {"1": api_level, "10": {**api_level, "errors": 2}},
        },
        "scale": [
            {
                "size": 2000,
                "chunks": 2000,
                "retrieve_p50_ms": 22.0,
                "retrieve_p95_ms": 30.0,
                "peak_rss_mb": 500.0,
                "build": {"recall_at_10": 0.99},
                "paired": {
                    "retrieve": {**lat, "p95": 140.0},
                    "baseline_retrieve": {**lat, "p95": 40.0},
                },
            }
        ],
    }
    figures = figures_of(report)
    report["figures"] = figures
    report["targets"] = evaluate(gates.TARGETS, figures)
    report["gates"] = evaluate(gates.QUICK_GATES, figures)
    return report


def test_figures_give_ratios_the_gates_can_read():
    report = _fake_report()
    f = report["figures"]
    assert f["api.errors"] == 2 and f["api.c10.errors"] == 2
    assert f["recipe.ask.median_ms"] == 10.0 and f["scale.2000.retrieve_p95_ms"] == 30.0
    by_name = {g["name"]: g["ok"] for g in report["gates"]}
    assert by_name["ask median vs recipe ask"] is True  # 20 <= 6 * 10 + 60
    assert by_name["/v1/ask no errors"] is False
    # the 2k point is judged against the benchmark index timed in turn with it: 140 <= 3 * 40 + 25
    assert f["scale.2000.paired_retrieve_p95_ms"] == 140.0
    assert by_name["retrieve p95 at 2k chunks vs benchmark index, in turn"] is True
    assert gates_pass(report["gates"]) is False


def test_report_writing_gives_json_markdown_and_a_png_plot(tmp_path):
    report = _fake_report()
    write_reports(report, tmp_path)
    saved = json.loads((tmp_path / JSON_NAME).read_text())
    assert saved["figures"]["ingest.cold_s"] == 10.0
    assert (tmp_path / PLOT_NAME).read_bytes().startswith(PNG_MAGIC)
    md = (tmp_path / MARKDOWN_NAME).read_text()
    assert md.startswith("# Benchmark (quick run)")
    assert f"]({PLOT_NAME})" in md
    assert "| Ingestion (cold) | seconds | 10.0 | 8.0 | 1.25× |" in md
    assert "| /v1/ask no errors | 2.00 | <= 0 | 0.00 | FAIL |" in md
    assert "not measured" in md  # the 200k targets, absent from a quick run


def test_table_rows_put_target_and_status_beside_the_figure():
    rows = {(r[0], r[1]): r for r in table(_fake_report())}
    ask = rows[("Query path", "ask median, ms")]
    assert ask[2:] == ["20.0", "10.0", "2.00×", "<= 60", "pass"]


# -- the real thing -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.corpus
def test_quick_bench_writes_its_reports_and_passes_its_gates(shared_corpus: Path, tmp_path):
    from typer.testing import CliRunner

    from eval.bench.cli import bench_app

    out = tmp_path / "bench"
    result = CliRunner().invoke(
        bench_app,
        ["--quick", "--out", str(out), "--corpus", str(shared_corpus)],
        catch_exceptions=False,
    )
    report = json.loads((out / JSON_NAME).read_text())
    failed = [g for g in report["gates"] if not g["ok"]]
    assert result.exit_code == 0, (failed, result.output[-3000:])
    assert report["mode"] == "quick" and report["gates"] and not failed
    assert report["query"]["questions"] == 20 and report["ingest"]["files"] == 3
    assert report["ingest"]["reingest_embedded"] == 0
    assert report["embedding"]["identical"] is True
    assert [p["size"] for p in report["scale"]] == [2000]
    assert set(report["api"]["levels"]) == {"1", "10"}
    assert (out / MARKDOWN_NAME).read_text().startswith("# Benchmark (quick run)")
    assert (out / PLOT_NAME).read_bytes().startswith(PNG_MAGIC)


@pytest.mark.integration
def test_worker_memory_bench_measures_a_worker_per_size_in_child_processes(tmp_path, monkeypatch):
    """Real child processes (the hashing embedder, by the environment they inherit): one point
    for the real chunks alone and one per size, each with a loaded lexical index."""
    from eval.bench.worker_memory import bench_worker_memory, chroma_side_mib

    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    source = tmp_path / "source"
    ChromaStore("fake-hashing", 384, path=source / "chroma").upsert_chunks(
        _real_chunks(n=20, dim=384)
    )
    report = bench_worker_memory(source, ["chunk two", "title"], tmp_path / "work", sizes=(500,))
    sizes = [p["size"] for p in report["points"]]
    assert sizes == [20, 500]
    for point in report["points"]:
        assert point["rss_after_search_mb"] >= point["rss_before_index_mb"] > 0
        assert point["peak_rss_mb"] >= point["rss_after_search_mb"]
        assert point["chroma_side_mib_projected"] == chroma_side_mib(point["size"], 384)
    assert report["points"][1]["build"]["synthetic_chunks"] == 480
    assert not list((tmp_path / "work").glob("lexical-*"))  # the indexes are not kept


def test_chroma_side_is_the_vectors_plus_the_graph_links():
    from eval.bench.worker_memory import chroma_side_mib

    assert chroma_side_mib(1_000_000, 384) == pytest.approx((1_536_000_000 + 128_000_000) / 2**20)

"""The benchmark's outputs: ``bench.json``, ``bench.md`` and the latency-against-size plot.

The same rows feed the Markdown report and the console table: each figure with the recipe's
figure and their ratio where the recipe has one, and the target with pass/fail where the issue
sets one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.bench.measure import ratio

JSON_NAME = "bench.json"
MARKDOWN_NAME = "bench.md"
PLOT_NAME = "latency_vs_index_size.png"
PLOT_DPI = 110
STAGE_LABELS = {
    "embed_query": "query embedding",
    "dense_search": "dense search (HNSW)",
    "bm25": "BM25",
    "fusion": "fusion (RRF + fetching candidates)",
    "retrieve_other": "de-duplication and the rest of retrieve",
    "sentence_selection": "sentence selection",
    "verification": "verification (refusal check's embeddings)",
}


@dataclass(frozen=True)
class Row:
    """One figure of a table: what, the project's value, the recipe's, and the target."""

    section: str
    label: str
    metric: str
    baseline: str | None = None
    digits: int = 1


def _rows(report: dict[str, Any]) -> list[Row]:
    """Every row the report shows, in reading order."""
    rows = [
        Row("Ingestion (cold)", "seconds", "ingest.cold_s", "recipe.ingest.cold_s"),
        Row("Ingestion (cold)", "documents/s", "ingest.docs_per_s", "recipe.ingest.docs_per_s", 2),
        Row("Ingestion (cold)", "chunks/s", "ingest.chunks_per_s", "recipe.ingest.chunks_per_s"),
        Row(
            "Ingestion (cold)",
            "embedder tokens/s",
            "ingest.embed_tokens_per_s",
            "recipe.ingest.embed_tokens_per_s",
            0,
        ),
        Row("Ingestion (cold)", "chunks", "ingest.chunks", "recipe.ingest.chunks", 0),
        Row("Ingestion (cold)", "re-ingest unchanged, s", "ingest.reingest_s", None, 2),
        Row(
            "Embedding",
            "batched, passages/s (vs one-by-one)",
            "embed.batched_per_s",
            "embed.one_by_one_per_s",
        ),
        Row("Embedding", "speed-up", "embed.speedup", None, 2),
        Row("Embedding", "max |batched − one-by-one|", "embed.max_abs_diff", None, 7),
        Row("Embedding", "identical (allclose)", "embed.identical", None, 0),
    ]
    for name in ("retrieve", "ask"):
        for stat in ("median", "p95", "p99"):
            rows.append(
                Row(
                    "Query path",
                    f"{name} {stat}, ms",
                    f"query.{name}.{stat}_ms",
                    f"recipe.{name}.{stat}_ms",
                )
            )
    for stage in report["query"]["ask_stages"]:
        for stat in ("median", "p95"):
            label = f"{STAGE_LABELS.get(stage, stage)} {stat}, ms"
            rows.append(Row("Ask stages", label, f"query.stage.{stage}.{stat}_ms", digits=2))
    rows.append(Row("Query path", "HNSW recall@10 vs exact", "hnsw.recall_at_10", None, 3))
    for level in report["api"]["levels"]:
        section = f"API /v1/ask, {level} client{'s' if level != '1' else ''}"
        rows += [
            Row(section, "requests/s", f"api.c{level}.rps"),
            Row(section, "median, ms", f"api.c{level}.median_ms"),
            Row(section, "p95, ms", f"api.c{level}.p95_ms"),
            Row(section, "p99, ms", f"api.c{level}.p99_ms"),
            Row(section, "errors", f"api.c{level}.errors", None, 0),
            Row(section, "repeated questions", f"api.c{level}.repeats", None, 0),
        ]
    rows += [
        Row("Start-up", "ready (/readyz 200), s", "startup.ready_s", None, 2),
        Row("Start-up", "idle server RSS, MiB", "startup.idle_rss_mb", None, 0),
        Row("Start-up", "RSS after the load test, MiB", "startup.rss_after_load_mb", None, 0),
    ]
    for point in report["scale"]:
        size = point["size"]
        section = f"Scale, {size:,} chunks"
        rows += [
            Row(section, "retrieve p50, ms", f"scale.{size}.retrieve_p50_ms"),
            Row(section, "retrieve p95, ms", f"scale.{size}.retrieve_p95_ms"),
            Row(section, "peak RSS, MiB", f"scale.{size}.peak_rss_mb", None, 0),
            Row(section, "HNSW recall@10 vs exact", f"scale.{size}.recall_at_10", None, 3),
        ]
    return rows


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _target_of(metric: str, targets: list[dict[str, Any]]) -> tuple[str, str]:
    """(rule, pass/FAIL) of the target on ``metric``, blank when there is none."""
    for t in targets:
        if t["metric"] == metric:
            status = {True: "pass", False: "FAIL", None: "not measured"}[t["ok"]]
            return f"{t['op']} {t['limit']:g}", status
    return "", ""


def table(report: dict[str, Any]) -> list[list[str]]:
    """The rows as text: section, figure, project, recipe, ratio, target, status."""
    figures = report["figures"]
    out = []
    for row in _rows(report):
        value = figures.get(row.metric)
        base = figures.get(row.baseline) if row.baseline else None
        r = ratio(value, base)
        rule, status = _target_of(row.metric, report["targets"])
        out.append(
            [
                row.section,
                row.label,
                _fmt(value, row.digits),
                _fmt(base, row.digits),
                "" if r is None else f"{r:.2f}×",
                rule,
                status,
            ]
        )
    return out


TABLE_HEADER = ["section", "figure", "project", "recipe", "ratio", "target", "status"]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    """A figure with as many decimals as its size needs."""
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def _check_rows(checks: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            c["name"],
            _number(c["value"]),
            c["rule"],
            _number(c["limit"]),
            {True: "pass", False: "FAIL", None: "not measured"}[c["ok"]],
        ]
        for c in checks
    ]


def write_json(report: dict[str, Any], out: Path) -> Path:
    """The whole report as JSON."""
    path = out / JSON_NAME
    path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return path


def write_plot(report: dict[str, Any], out: Path) -> Path:
    """Retrieve latency (p50, p95) and peak RSS against index size, log-scaled sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = sorted(report["scale"], key=lambda p: p["chunks"])
    sizes = [p["chunks"] for p in points]
    fig, (lat, mem) = plt.subplots(1, 2, figsize=(10, 4))
    lat.plot(sizes, [p["retrieve_p50_ms"] for p in points], "o-", label="retrieve p50")
    lat.plot(sizes, [p["retrieve_p95_ms"] for p in points], "s--", label="retrieve p95")
    real = report["query"]["retrieve"]
    lat.plot([report["index"]["chunks"]], [real["median"]], "k^", label="real index p50")
    lat.set(xscale="log", xlabel="chunks in the index", ylabel="ms", title="Retrieve latency")
    lat.legend()
    mem.plot(sizes, [p["peak_rss_mb"] for p in points], "o-", color="tab:red")
    mem.set(xscale="log", xlabel="chunks in the index", ylabel="MiB", title="Peak RSS (query)")
    for axis in (lat, mem):
        axis.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = out / PLOT_NAME
    fig.savefig(path, dpi=PLOT_DPI)
    plt.close(fig)
    return path


def write_markdown(report: dict[str, Any], out: Path) -> Path:
    """The report for people: the table, the targets, the gates, how it was measured."""
    m = report["machine"]
    q = report["query"]
    lines = [
        f"# Benchmark ({report['mode']} run)",
        "",
        f"{m['cpus']} CPUs, Python {m['python']}, {m['platform']}. Load average "
        f"{m['load_before'][0]:.2f} at the start and {m['load_after'][0]:.2f} at the end "
        f"(1 min); the run took {report['seconds']:.0f} s. Model loaded in "
        f"{report['model_load_s']:.1f} s.",
        "",
        f"Corpus: {report['ingest']['files']} files; benchmark index "
        f"{report['index']['chunks']:,} chunks; {q['questions']} questions "
        f"({q['refused']} refused by the project). The recipe is RecursiveCharacterTextSplitter"
        "(1000, 200) + Chroma similarity search, top 4, with the same embedder; ratios are "
        "project / recipe.",
        "",
        "## Figures",
        "",
        _md_table(TABLE_HEADER, table(report)),
        "",
        "## Targets",
        "",
        _md_table(["target", "value", "rule", "limit", "status"], _check_rows(report["targets"])),
        "",
    ]
    if report["gates"]:
        lines += [
            "## Quick-mode gates (ratios within this run)",
            "",
            _md_table(["gate", "value", "rule", "limit", "status"], _check_rows(report["gates"])),
            "",
        ]
    st = report.get("settings", {})
    lines += [
        "## How it was measured",
        "",
        f"Settings: ONNX threads {st.get('embedding_threads')}, embedding batch "
        f"{st.get('embedding_batch_size')}, top k {st.get('top_k')}, dense/BM25 candidates "
        f"{st.get('dense_k')}/{st.get('bm25_k')}, HNSW ef_search {st.get('hnsw_ef_search')}.",
        "",
        "* Ingestion: wall time of `Services.ingest` into an empty index (parsing in child "
        "processes, chunking, embedding, Chroma writes, the BM25 build); embedder tokens/s is "
        "word pieces fed to the model over the time spent inside the embedder. The recipe's "
        "figure is `LangChainRecipe`'s build (split, embed, add to Chroma).",
        "* Query path: in process with the model loaded, after three warm-up questions; each "
        "question is timed for the project and then the recipe. `retrieve` is "
        "`Retriever.retrieve`; `ask` is `Services.ask` (extractive). Stage times come "
        "from `timings_ms`; verification is the time the answerer spends in the embedder "
        "(its refusal check), and sentence selection is the rest of the answerer's time.",
        "* API: `nhs-assistant serve` in a subprocess; the load generator "
        "(`python -m eval.bench.load`) is another process with closed-loop clients; requests "
        "in the warm-up seconds are not counted. Every request is a question the server has "
        'not seen (the benchmark questions behind different openings such as "Quick '
        "question:\", each level taking its own slice), so the embedder's cache of recent "
        "question vectors never answers for the model; the repeats row counts any that wrapped.",
        "",
    ]
    lines += [
        "## Latency against index size",
        "",
        f"![retrieve latency and peak memory against index size]({PLOT_NAME})",
        "",
        "Indexes beyond the real corpus are synthetic: every real chunk is kept, and each "
        "added chunk joins runs of sentences from three real chunks chosen at random; its "
        "vector is the normalised Dirichlet-weighted mixture of those three chunks' vectors "
        "(nothing is re-embedded). Each size is built in one child process and queried in "
        "another, so the peak RSS is that of a process serving that many chunks.",
        "",
    ]
    path = out / MARKDOWN_NAME
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_reports(report: dict[str, Any], out: Path) -> list[Path]:
    """JSON, plot and Markdown into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return [write_json(report, out), write_plot(report, out), write_markdown(report, out)]

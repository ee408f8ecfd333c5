"""Writes report.json, report.md and report.html (charts embedded, every text escaped).

Questions, answers, ids and document names in a report come from datasets and documents, so
they are treated as untrusted: every value is HTML-escaped in report.html (which also forbids
scripts and outside fetches in its Content-Security-Policy), and questions are written as
literal Markdown in report.md.

The metric rows and the chart's bars come from the metric registry (``eval.metrics``), in
registration order, so a registered metric appears in every report without an edit here.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from assistant.transcript import literal
from eval.metrics import REGISTRY, Metric, MetricRegistry


def metrics_shown(
    summaries: dict[str, dict[str, float]], registry: MetricRegistry = REGISTRY
) -> list[Metric]:
    """The rows of a summary table, from the registry: every metric measured in every mode,
    and a mode-specific one (llm mode's) only when the summaries have it."""
    return [m for m in registry if m.modes is None or any(m.name in s for s in summaries.values())]


def chart_metrics(registry: MetricRegistry = REGISTRY) -> list[Metric]:
    """The bars of report.html's chart: the registered metrics marked for it."""
    return [m for m in registry if m.chart]


def markdown_table(summaries: dict[str, dict[str, float]]) -> str:
    systems = list(summaries)
    lines = ["| metric | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for m in metrics_shown(summaries):
        lines.append(
            f"| {m.label} | "
            + " | ".join(m.fmt(summaries[s].get(m.name, 0.0)) for s in systems)
            + " |"
        )
    return "\n".join(lines)


def refusal_confusion(questions: list[dict[str, Any]]) -> dict[str, int]:
    """The answer-or-refuse decision against the labels: how many answerable questions were
    answered or refused, and how many unanswerable ones."""
    counts = dict.fromkeys(
        (
            "answerable_answered",
            "answerable_refused",
            "unanswerable_answered",
            "unanswerable_refused",
        ),
        0,
    )
    for q in questions:
        label = "answerable" if q["answerable"] else "unanswerable"
        counts[f"{label}_{'refused' if q['refused'] else 'answered'}"] += 1
    return counts


def confusion_table(c: dict[str, int]) -> str:
    """The refusal confusion matrix as Markdown."""
    return "\n".join(
        [
            "| refusal decision | answered | refused |",
            "|---|---:|---:|",
            f"| answerable | {c['answerable_answered']} | {c['answerable_refused']} |",
            f"| unanswerable | {c['unanswerable_answered']} | {c['unanswerable_refused']} |",
        ]
    )


def write_json(report: dict[str, Any], out: Path) -> Path:
    path = out / "report.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def write_markdown(report: dict[str, Any], out: Path) -> Path:
    parts = [
        f"# Evaluation: {report['dataset']}",
        "",
        f"Mode: {report['mode']}. Corpus: {', '.join(report['corpus'])}. k = {report['k']}.",
        "",
    ]
    for split, summaries in report["summary"].items():
        n = next(iter(summaries.values()))["questions"]
        parts += [f"## {split} ({int(n)} questions)", "", markdown_table(summaries), ""]
        chosen = [q for q in report["questions"]["project"] if split in ("all", q.get("split"))]
        parts += [confusion_table(refusal_confusion(chosen)), ""]
    if report.get("by_kind"):
        parts += ["## The project, by kind of question", "", markdown_table(report["by_kind"]), ""]
    if report.get("gate"):
        parts += ["## Thresholds", ""]
        parts += [
            f"- {'FAIL' if not g['ok'] else 'ok'}: {g['metric']} = {g['value']:.3f} (needs {g['op']} {g['threshold']})"
            for g in report["gate"]
        ]
        parts.append("")
    failing = [q for q in report["questions"]["project"] if q["failed"]]
    parts += [f"## Failing questions ({len(failing)})", ""]
    for q in failing:
        what = (
            "answered (should refuse)"
            if not q["answerable"]
            else (
                "refused"
                if q["refused"]
                else f"recall@k {q['recall_at_k']:.2f}, citation recall {q['citation_recall']:.2f}"
            )
        )
        parts.append(f"- `{str(q['id']).replace('`', '')}` {literal(q['question'])} — {what}")
    path = out / "report.md"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _charts(report: dict[str, Any]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = []
    summaries = report["summary"]["all"]
    systems = list(summaries)
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(systems)
    colours = ["#005EB8", "#768692", "#AE2573", "#00A499", "#ED8B00"]
    bars = chart_metrics()
    for i, system in enumerate(systems):
        xs = [j + i * width for j in range(len(bars))]
        ax.bar(
            xs,
            [summaries[system].get(m.name, 0.0) for m in bars],
            width,
            label=system,
            color=colours[i % len(colours)],
        )
    ax.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(len(bars))])
    ax.set_xticklabels([m.label for m in bars], rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.legend()
    ax.set_title("Metrics by system (all questions)")
    charts.append(("Metrics against baselines", _png(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, system in enumerate(systems):
        lat = [q["latency_ms"] for q in report["questions"][system]]
        ax.hist(lat, bins=30, alpha=0.6, label=system, color=colours[i % len(colours)])
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.legend()
    charts.append(("Latency distribution", _png(fig)))
    plt.close(fig)
    return charts


def write_html(report: dict[str, Any], out: Path) -> Path:
    e = html.escape
    rows = []
    tables = [(split, s) for split, s in report["summary"].items()]
    if report.get("by_kind"):
        tables.append(("The project, by kind of question", report["by_kind"]))
    for split, summaries in tables:
        systems = list(summaries)
        head = "".join(f"<th>{e(s)}</th>" for s in systems)
        body = "".join(
            "<tr><td>"
            + e(m.label)
            + "</td>"
            + "".join(f"<td>{e(m.fmt(summaries[s].get(m.name, 0.0)))}</td>" for s in systems)
            + "</tr>"
            for m in metrics_shown(summaries)
        )
        rows.append(f"<h2>{e(split)}</h2><table><tr><th>metric</th>{head}</tr>{body}</table>")
    charts = "".join(
        f"<h2>{e(title)}</h2><img alt='{e(title)}' src='data:image/png;base64,{png}'>"
        for title, png in _charts(report)
    )
    failing = [q for q in report["questions"]["project"] if q["failed"]]
    fail_rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            e(q["id"]),
            e(q["question"]),
            "refused" if q["refused"] else "answered",
            e(q["answer"][:400]),
            "<br>".join(
                e(f"{c['rank']}. {c['doc_id']} — {c['section']}") for c in q["retrieved"][:5]
            ),
        )
        for q in failing
    )
    gate = "".join(
        f"<li class='{'bad' if not g['ok'] else 'ok'}'>{e(g['metric'])} = {g['value']:.3f} (needs {e(g['op'])} {e(str(g['threshold']))})</li>"
        for g in report.get("gate", [])
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Evaluation report</title><style>
body{{font-family:Arial,sans-serif;margin:2em;color:#212b32}} h1,h2{{color:#005EB8}}
table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #d8dde0;padding:4px 8px;vertical-align:top}}
th{{background:#f0f4f5}} .bad{{color:#d5281b}} .ok{{color:#007f3b}} img{{max-width:100%}}
</style></head><body>
<h1>Evaluation: {e(report["dataset"])}</h1>
<p>Mode {e(report["mode"])}; corpus {e(", ".join(report["corpus"]))}; k = {e(str(report["k"]))}.</p>
<ul>{gate}</ul>{"".join(rows)}{charts}
<h2>Failing questions ({len(failing)})</h2>
<table><tr><th>id</th><th>question</th><th>outcome</th><th>answer</th><th>retrieved</th></tr>{fail_rows}</table>
</body></html>"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

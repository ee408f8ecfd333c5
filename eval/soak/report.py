"""The soak's figures and pass/fail checks, from what the clients saw, the server's memory samples
and what the feedback store holds afterwards. Pure functions over plain data, so tests can pin
them by hand.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from eval.bench.measure import latency_summary, per_second
from eval.soak.clients import BYSTANDER, KINDS, LIMITED

JSON_NAME = "soak.json"
HTTP_OK, HTTP_TOO_MANY = 200, 429
SERVER_ERROR = 500
MAX_EXAMPLES = 5  # failed requests quoted in the report
RATE_LIMITED_CODE = "rate_limited"


def _is_5xx(sample: dict[str, Any]) -> bool:
    return int(sample["status"]) >= SERVER_ERROR


def kind_summary(samples: Sequence[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Requests, statuses, outcomes and latency percentiles of one kind of request."""
    latency = latency_summary([s["ms"] for s in samples])
    first = latency_summary([s["first_ms"] for s in samples if s.get("first_ms") is not None])
    ok = sum(1 for s in samples if s["outcome"] == "ok")
    summary = {
        "requests": len(samples),
        "ok": ok,
        "rps": per_second(ok, seconds),
        "statuses": _counts(s["status"] for s in samples),
        "outcomes": _counts(s["outcome"] for s in samples),
        "p50_ms": latency["median"],
        "p95_ms": latency["p95"],
        "p99_ms": latency["p99"],
        "mean_ms": latency["mean"],
    }
    if first["n"]:
        summary["first_event_p50_ms"] = first["median"]
        summary["first_event_p95_ms"] = first["p95"]
    return summary


def _counts(values: Iterable[Any]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(Counter(values).items())}


def load_summary(load: dict[str, Any]) -> dict[str, Any]:
    """Per kind and overall: requests, statuses, failures, latency, throughput.

    Warm-up requests (one of each kind before the clock starts) count towards errors but not
    towards latency or throughput.
    """
    samples = load["samples"]
    measured = [s for s in samples if not s["warmup"]]
    seconds = float(load["seconds"])
    failures = [s for s in samples if s["outcome"] != "ok"]
    return {
        "clients": load["clients"],
        "duration_s": load["duration_s"],
        "seconds": seconds,
        "warmup_s": load.get("warmup_s", 0.0),
        "requests": len(measured),
        "warmup_requests": len(samples) - len(measured),
        "throughput_rps": per_second(sum(1 for s in measured if s["outcome"] == "ok"), seconds),
        "statuses": _counts(s["status"] for s in samples),
        "client_5xx": sum(1 for s in samples if _is_5xx(s)),
        "failures": len(failures),
        "failure_outcomes": _counts(s["outcome"] for s in failures),
        "failure_examples": failures[:MAX_EXAMPLES],
        "kinds": {
            kind: kind_summary([s for s in measured if s["kind"] == kind], seconds)
            for kind in KINDS
        },
        "all": kind_summary(measured, seconds),
    }


def rss_summary(
    rss: Sequence[tuple[float, float]], t0: float, duration: float, window: float
) -> dict[str, Any]:
    """Mean RSS of the first and last ``window`` seconds of the run, and the growth between.

    ``rss`` holds (epoch seconds, MiB) samples; the run is [t0, t0 + duration]. When the run is
    shorter than three windows the window shrinks to a third of it, so the two never overlap.
    Samples before t0 (the warm-up) give ``start_mb``, the server before any load.
    """
    window = min(window, duration / 3)
    run = [(t, mb) for t, mb in rss if t0 <= t <= t0 + duration]
    before = [mb for t, mb in rss if t < t0]
    first = [mb for t, mb in run if t < t0 + window]
    last = [mb for t, mb in run if t > t0 + duration - window]
    summary: dict[str, Any] = {
        "samples": len(run),
        "window_s": window,
        "start_mb": before[0] if before else None,
        "first_mb": _mean(first),
        "last_mb": _mean(last),
        "peak_mb": max((mb for _, mb in run), default=None),
        "growth_pct": None,
        "series": [[round(t - t0, 2), round(mb, 1)] for t, mb in rss],
    }
    if first and last:
        summary["growth_pct"] = (
            100.0 * (summary["last_mb"] - summary["first_mb"]) / summary["first_mb"]
        )
    return summary


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def feedback_summary(posted: Sequence[dict[str, str]], stored: dict[str, str]) -> dict[str, Any]:
    """Feedback the clients were told was stored against what the store holds.

    ``stored`` maps feedback_id to the answer_id it rates. A record is lost when its id is
    missing, and misfiled when it rates another answer than the one the client rated.
    """
    missing = [p["feedback_id"] for p in posted if p["feedback_id"] not in stored]
    misfiled = [
        p["feedback_id"]
        for p in posted
        if p["feedback_id"] in stored and stored[p["feedback_id"]] != p["answer_id"]
    ]
    return {
        "posted": len(posted),
        "found": len(posted) - len(missing),
        "in_store": len(stored),
        "missing": len(missing),
        "misfiled": len(misfiled),
        "missing_examples": missing[:MAX_EXAMPLES],
    }


def limit_summary(
    samples: Sequence[dict[str, Any]], per_minute: int, clients: int, duration: float
) -> dict[str, Any]:
    """The hammered key against its budget, and the bystander key.

    A token bucket that starts full admits at most ``per_minute`` (the burst) plus
    ``per_minute / 60`` for every second of the window, from the first request sent to the last
    answer received. Once the key has been refused its burst must have been spent, so at least
    ``per_minute`` requests were admitted.
    """
    limited = [s for s in samples if s["kind"] == LIMITED]
    bystander = [s for s in samples if s["kind"] == BYSTANDER]
    window = 0.0
    if limited:
        window = max(s["started"] + s["ms"] / 1e3 for s in limited) - min(
            s["started"] for s in limited
        )
    allowed = sum(1 for s in limited if s["status"] == HTTP_OK)
    refused = [s for s in limited if s["status"] == HTTP_TOO_MANY]
    well_formed = [
        s
        for s in refused
        if s["error_code"] == RATE_LIMITED_CODE
        and str(s["retry_after"] or "").isdigit()
        and int(s["retry_after"]) >= 1
    ]
    return {
        "per_minute": per_minute,
        "clients": clients,
        "duration_s": duration,
        "window_s": window,
        "budget": per_minute + per_minute / 60.0 * window,
        "requests": len(limited),
        "allowed": allowed,
        "refused_429": len(refused),
        "refused_with_retry_after": len(well_formed),
        "other": _counts(s["status"] for s in limited if s["status"] not in (200, 429)),
        "other_outcomes": sum(
            1 for s in limited if s["status"] in (200, 429) and s["outcome"] not in ("ok", "http")
        ),
        "allowed_p95_ms": latency_summary([s["ms"] for s in limited if s["status"] == 200])["p95"],
        "refused_p95_ms": latency_summary([s["ms"] for s in refused])["p95"],
        "bystander_requests": len(bystander),
        "bystander_ok": sum(1 for s in bystander if s["outcome"] == "ok"),
        "bystander_statuses": _counts(s["status"] for s in bystander),
        "client_5xx": sum(1 for s in samples if _is_5xx(s)),
    }


def check(name: str, ok: bool, value: Any, rule: str) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "value": value, "rule": rule}


def checks(report: dict[str, Any], max_growth_pct: float) -> list[dict[str, Any]]:
    """Pass or fail for everything the soak promises."""
    load, rss, fb = report["load"], report["rss"], report["feedback"]
    server_5xx = report.get("server_5xx")
    out = [
        check("no 5xx (clients)", load["client_5xx"] == 0, load["client_5xx"], "== 0"),
        check(
            "every request answered",
            load["failures"] == 0,
            load["failure_outcomes"] or 0,
            "no dropped connection, broken stream or unexpected status",
        ),
        check("server stayed up", report["server_alive"], report["server_alive"], "alive"),
    ]
    if server_5xx is not None:
        out.append(check("no 5xx (server /metrics)", server_5xx == 0, server_5xx, "== 0"))
    if fb is not None:
        out.append(
            check(
                "every feedback record stored",
                fb["missing"] == 0 and fb["misfiled"] == 0 and fb["posted"] > 0,
                f"{fb['found']}/{fb['posted']}",
                "all posted ids in the store, on the answer rated",
            )
        )
    answers = report.get("answers")
    if answers is not None:
        out.append(
            check(
                "every answer recorded",
                answers["missing"] == 0,
                f"{answers['found']}/{answers['received']}",
                "all answer ids in the store",
            )
        )
    if rss is not None:
        growth = rss["growth_pct"]
        out.append(
            check(
                "RSS growth first to last window",
                growth is not None and growth < max_growth_pct,
                None if growth is None else round(growth, 2),
                f"< {max_growth_pct:g} %",
            )
        )
    limit = report.get("rate_limit")
    if limit and not limit.get("skipped"):
        out += limit_checks(limit)
    return out


def limit_checks(limit: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        check(
            "rate limit: admitted within budget",
            limit["allowed"] <= limit["budget"],
            limit["allowed"],
            f"<= {limit['budget']:.1f} (burst + rate x {limit['window_s']:.1f} s)",
        ),
        check(
            "rate limit: burst honoured",
            limit["refused_429"] > 0 and limit["allowed"] >= limit["per_minute"],
            limit["allowed"],
            f">= {limit['per_minute']} once refused",
        ),
        check(
            "rate limit: the rest are 429 with Retry-After",
            limit["refused_with_retry_after"] == limit["refused_429"]
            and not limit["other"]
            and not limit["other_outcomes"],
            f"{limit['refused_with_retry_after']}/{limit['refused_429']}, other {limit['other']}",
            "every refusal 429, code rate_limited, Retry-After >= 1 s",
        ),
        check(
            "rate limit: other keys unaffected",
            limit["bystander_ok"] == limit["bystander_requests"] > 0,
            f"{limit['bystander_ok']}/{limit['bystander_requests']}",
            "all 200",
        ),
    ]


def kind_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per kind of request, then the total: for the printed table."""
    load = report["load"]
    rows = []
    for kind, k in [*load["kinds"].items(), ("all", load["all"])]:
        statuses = ", ".join(f"{code}: {n}" for code, n in k["statuses"].items())
        rows.append(
            [
                kind,
                str(k["requests"]),
                statuses,
                f"{k['p50_ms']:.0f}",
                f"{k['p95_ms']:.0f}",
                f"{k['p99_ms']:.0f}",
                f"{k['rps']:.1f}",
            ]
        )
    return rows


KIND_HEADER = ("kind", "requests", "statuses", "p50 ms", "p95 ms", "p99 ms", "ok/s")


def summary_rows(report: dict[str, Any]) -> list[list[str]]:
    """The headline figures beside the checks, as (figure, value) rows."""
    load, rss, fb = report["load"], report["rss"], report["feedback"]
    rows = [
        ["clients x seconds", f"{load['clients']} x {load['duration_s']:g}"],
        ["throughput", f"{load['throughput_rps']:.1f} req/s ({load['requests']} requests)"],
        ["5xx (clients / server)", f"{load['client_5xx']} / {report.get('server_5xx', 'n/a')}"],
        [
            "load average (start, end)",
            f"{report['machine']['loadavg_start']} -> {report['machine']['loadavg_end']}",
        ],
    ]
    if rss is not None and rss["start_mb"] is not None and rss["first_mb"] is not None:
        rows.append(
            [
                "RSS idle -> after warm-up",
                f"{rss['start_mb']:.0f} -> {rss['first_mb']:.0f} MiB "
                f"({load['warmup_requests']} requests in {load['warmup_s']:.0f} s)",
            ]
        )
    if rss is not None and rss["growth_pct"] is not None:
        rows.append(
            [
                f"RSS first/last {rss['window_s']:.1f} s",
                f"{rss['first_mb']:.0f} -> {rss['last_mb']:.0f} MiB "
                f"({rss['growth_pct']:+.1f} %, peak {rss['peak_mb']:.0f})",
            ]
        )
    if fb is not None:
        rows.append(["feedback posted / stored", f"{fb['posted']} / {fb['found']}"])
    limit = report.get("rate_limit")
    if limit and not limit.get("skipped"):
        rows.append(
            [
                f"rate limit {limit['per_minute']}/min, {limit['clients']} clients",
                f"{limit['allowed']} admitted (budget {limit['budget']:.1f}), "
                f"{limit['refused_429']} x 429; bystander "
                f"{limit['bystander_ok']}/{limit['bystander_requests']} ok",
            ]
        )
    elif limit:
        rows.append(["rate limit", f"skipped: {limit['skipped']}"])
    return rows


def write_report(report: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / JSON_NAME
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return path

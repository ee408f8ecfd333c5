"""Prometheus metrics for the API, in a registry of its own (one per app).

Request counts by route template and status, request latency, answers, refusals and grounding
removals. With several worker processes each exposes its own counters; scrape each process.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from assistant.schemas import AskResponse

METRICS_PREFIX = "nhs_assistant"
# Seconds: answers take tens of milliseconds with the extractive answerer, uploads many seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ApiMetrics:
    """The API's counters and histograms.

    >>> metrics = ApiMetrics()
    >>> metrics.observe_request("POST", "/v1/ask", 200, 0.042)
    >>> b"nhs_assistant_http_requests_total" in metrics.render()
    True
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"{METRICS_PREFIX}_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{METRICS_PREFIX}_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            f"{METRICS_PREFIX}_answers",
            "Answers given, by answering mode.",
            ["mode"],
            registry=self.registry,
        )
        self.refusals = Counter(
            f"{METRICS_PREFIX}_refusals",
            "Questions the corpus did not cover (the assistant declined to answer).",
            registry=self.registry,
        )
        self.grounding_removed = Counter(
            f"{METRICS_PREFIX}_grounding_removed_sentences",
            "Answer sentences removed because no cited passage supported them.",
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_answer(self, response: AskResponse) -> None:
        self.answers.labels(response.mode).inc()
        if response.refused:
            self.refusals.inc()
        if response.grounding.removed:
            self.grounding_removed.inc(response.grounding.removed)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

"""Prometheus metrics, in a registry of their own (one per ``build_services``).

Request counts by route template and status and request latency (fed by the HTTP API's
middleware), and answers, refusals and grounding removals (fed by the answering service for every
answer served to a user, through the API or the page). With several worker processes each
exposes its own counters; scrape each process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

if TYPE_CHECKING:
    from assistant.asking import AskResult


METRICS_PREFIX = "nhs_assistant"
# Seconds: answers take tens of milliseconds with the extractive answerer, uploads many seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The service's counters and histograms.

    >>> metrics = Metrics()
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

    def observe_answer(self, result: AskResult, question: str = "") -> None:
        """An answer observer (see :class:`assistant.asking.AskService`)."""
        answer = result.answer
        self.answers.labels(answer.mode).inc()
        if answer.refused:
            self.refusals.inc()
        if answer.removed:
            self.grounding_removed.inc(answer.removed)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

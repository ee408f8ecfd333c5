"""Request limits: a budget of requests per API key, and a cap on request body size.

The budget is a token bucket in the process (one worker), or a moving window counted in Redis
that every worker shares (``api.rate_limit_storage``), so several workers keep one budget.

The body cap is checked twice: against ``Content-Length`` before anything is read, and against
the bytes actually received (a chunked upload has no length), so a client cannot make the
server buffer more than the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.config import BYTES_PER_MB
from assistant.errors import BackendUnavailableError

SECONDS_PER_MINUTE = 60.0
MAX_BUCKETS = 10_000  # full buckets are dropped beyond this many clients (they hold no state)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """``rate_per_minute`` requests per key, refilled continuously, bursts up to the same number.

    >>> limiter = TokenBucketLimiter(rate_per_minute=2)
    >>> [limiter.acquire("key") == 0.0 for _ in range(3)]
    [True, True, False]
    """

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(rate_per_minute)
        self.per_second = rate_per_minute / SECONDS_PER_MINUTE
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else seconds until a token is free."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._forget_full_buckets(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(
                self.capacity, bucket.tokens + (now - bucket.updated) * self.per_second
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.per_second

    def _forget_full_buckets(self, now: float) -> None:
        if len(self._buckets) < MAX_BUCKETS:
            return
        for key, b in list(self._buckets.items()):
            if b.tokens + (now - b.updated) * self.per_second >= self.capacity:
                del self._buckets[key]


class Limiter(Protocol):
    """Takes one request's token for a key: 0.0 when allowed, else seconds to wait."""

    capacity: float

    def acquire(self, key: str) -> float: ...


class SharedLimiter:
    """``rate_per_minute`` requests per key in any 60-second window, counted in a store every
    API worker shares (Redis), so N workers allow one budget, not N. The ``limits`` library's
    moving window does the counting; a store that cannot be reached is a 503, not an open door.

    >>> limiter = SharedLimiter(2, "memory://")
    >>> [limiter.acquire("key") == 0.0 for _ in range(3)]
    [True, True, False]
    """

    def __init__(self, rate_per_minute: int, storage_uri: str) -> None:
        from limits import RateLimitItemPerMinute
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self.capacity = float(rate_per_minute)
        self.item = RateLimitItemPerMinute(rate_per_minute)
        self.where = storage_uri.split("@")[-1]  # no password in logs
        self.storage = storage_from_string(storage_uri)
        self.strategy = MovingWindowRateLimiter(self.storage)

    def acquire(self, key: str) -> float:
        try:
            if self.strategy.hit(self.item, "nhs-assistant", key):
                return 0.0
            stats = self.strategy.get_window_stats(self.item, "nhs-assistant", key)
        except Exception as exc:  # the store's client raises its own errors
            raise BackendUnavailableError(
                f"the rate-limit store {self.where} cannot be reached: {exc}"
            ) from exc
        return max(0.001, stats.reset_time - time.time())


def make_limiter(rate_per_minute: int, storage_uri: str) -> Limiter:
    """The in-process token bucket for ``memory://`` (one worker), else a shared store."""
    if storage_uri in ("", "memory://"):
        return TokenBucketLimiter(rate_per_minute)
    return SharedLimiter(rate_per_minute, storage_uri)


def retry_after_header(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds, at least 1."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class BodyTooLargeError(HTTPException):
    """The request body is over the limit for its route (413)."""

    def __init__(self, limit: int, message: str | None = None) -> None:
        super().__init__(413, message or f"request body too large: the limit is {limit:,} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """413 for bodies over ``max_body_bytes``, or ``max_upload_bytes`` on upload routes.

    An upload's body holds the file plus multipart framing, so its limit is the file limit plus
    ``upload_overhead_bytes``; the message names the file limit a user set, in MB.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_upload_bytes: int,
        upload_paths: frozenset[str],
        reject: Callable[[str], ASGIApp],
        upload_overhead_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_overhead_bytes = upload_overhead_bytes
        self.upload_paths = upload_paths
        self.reject = reject

    def limit_for(self, scope: Scope) -> int:
        if scope["path"] in self.upload_paths:
            return self.max_upload_bytes + self.upload_overhead_bytes
        return self.max_body_bytes

    def message_for(self, scope: Scope) -> str:
        if scope["path"] in self.upload_paths:
            return (
                f"upload too large: a file may be at most "
                f"{self.max_upload_bytes / BYTES_PER_MB:g} MB"
            )
        return f"request body too large: the limit is {self.max_body_bytes:,} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self.reject(self.message_for(scope))(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit, self.message_for(scope))
            return message

        await self.app(scope, counted_receive, send)

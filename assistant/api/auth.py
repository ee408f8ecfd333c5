"""API keys with scopes, checked in constant time, and the per-key rate limit.

Keys come from settings as ``scope:key`` pairs (``ask`` may ask and give feedback; ``admin`` may
also manage documents). Only their SHA-256 digests are kept; a presented key is hashed and
compared with every digest through :func:`hmac.compare_digest`. Clients send a key as
``Authorization: Bearer KEY`` (what OpenAI clients do) or ``X-API-Key: KEY``; a key anywhere
else (a query string, another scheme such as ``Basic``) is not read, so the request is refused.

* A missing or unknown key is a 401, a key without the scope a route needs a 403, and more
  requests than the per-minute budget a 429 with ``Retry-After``. Refused attempts count too,
  against a budget per client address, so keys cannot be guessed at full speed.
* A key is disabled by removing it (or commenting it out with ``#`` in the keys file) and
  restarting; only the keys configured at start-up are accepted.
* ``api.auth_disabled`` serves without keys (everyone is admin, limited per client address),
  for local development only, and only when no key is configured at all: once any key is
  configured, keys are required whatever that setting says.
* No key ever reaches a log or an error message: configuration errors name the entry by its
  position, and :meth:`ApiKeyring.mask` hides a configured key that a client put in a URL path.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from assistant.api.errors import ApiError
from assistant.api.limits import Limiter, retry_after_header
from assistant.config import ApiSettings
from assistant.errors import BackendUnavailableError, ConfigurationError

logger = logging.getLogger(__name__)

Scope = Literal["ask", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
MIN_KEY_CHARS = 16
KEY_ID_CHARS = 12  # digest prefix naming a key in logs and rate-limit buckets
KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
ANONYMOUS = "anonymous"
KEY_MASK = "[API key]"
KEYED_PREFIX = "/v1/"  # every route under it needs a key; the others are public
_TOKEN = re.compile(rf"[^/?&=;,\s]{{{MIN_KEY_CHARS},}}")  # what could be a key in a path

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="BearerKey",
    description="An API key as a bearer token: `Authorization: Bearer KEY`.",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKeyHeader",
    description="An API key in the `X-API-Key` header.",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id (a digest prefix, never the key) and its scope."""

    key_id: str
    scope: Scope

    def allows(self, needed: Scope) -> bool:
        return self.scope == "admin" or self.scope == needed


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_key_pairs(text: str, source: str) -> list[tuple[Scope, str]]:
    """``scope:key`` pairs separated by commas or new lines ('#' starts a comment)."""
    pairs: list[tuple[Scope, str]] = []
    entry = 0
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0]
        for item in filter(None, (part.strip() for part in line.split(","))):
            entry += 1
            scope, sep, key = item.partition(":")
            scope, key = scope.strip(), key.strip()
            if not sep or scope not in SCOPES:
                # Never echo the entry: without its "scope:" it may be nothing but a key.
                raise ConfigurationError(
                    f"{source}: each API key must be written scope:key with scope one of "
                    f"{', '.join(SCOPES)} (entry {entry} is not)"
                )
            if len(key) < MIN_KEY_CHARS:
                raise ConfigurationError(
                    f"{source}: the API key of entry {entry} (scope {scope!r}) is {len(key)} "
                    f"characters; use at least {MIN_KEY_CHARS} (generate one with: {KEY_HINT})"
                )
            pairs.append((scope, key))  # type: ignore[arg-type]
    return pairs


class ApiKeyring:
    """Digests of the configured keys, each with its scope.

    >>> ring = ApiKeyring([("ask", "a-long-enough-ask-key")])
    >>> ring.authenticate("a-long-enough-ask-key").scope
    'ask'
    >>> ring.authenticate("wrong") is None
    True
    """

    def __init__(self, keys: list[tuple[Scope, str]], disabled: bool = False) -> None:
        self.disabled = disabled
        self._entries = [(_digest(key), scope) for scope, key in keys]

    @classmethod
    def from_settings(cls, api: ApiSettings) -> ApiKeyring:
        """Keys from ``api.keys`` and ``api.keys_file``; refuses to run with none unless disabled."""
        pairs = parse_key_pairs(api.keys.get_secret_value(), "NHS_ASSISTANT_API_KEYS")
        if api.keys_file is not None:
            try:
                text = api.keys_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot read the API keys file {api.keys_file}: {exc.strerror or exc}"
                ) from exc
            pairs += parse_key_pairs(text, str(api.keys_file))
        if not pairs and not api.auth_disabled:
            raise ConfigurationError(
                "no API keys configured: set NHS_ASSISTANT_API_KEYS (e.g. 'ask:KEY1,admin:KEY2') "
                "or NHS_ASSISTANT_API_KEYS_FILE; for local development only, "
                "NHS_ASSISTANT_API_AUTH_DISABLED=true serves without keys"
            )
        return cls(pairs, disabled=api.auth_disabled and not pairs)

    def describe(self) -> str:
        """For the start-up log: how many keys of each scope (never the keys)."""
        if self.disabled:
            return "authentication DISABLED (development only)"
        counts = {s: sum(1 for _, scope in self._entries if scope == s) for s in SCOPES}
        return "API keys: " + ", ".join(f"{n} {s}" for s, n in counts.items())

    def mask(self, text: str) -> str:
        """``text`` with every configured key in it replaced by ``[API key]`` (for logs).

        >>> ApiKeyring([("ask", "a-long-enough-ask-key")]).mask("/v1/a-long-enough-ask-key")
        '/v1/[API key]'
        """
        if not self._entries:
            return text

        def hide(m: re.Match[str]) -> str:
            digest = _digest(m.group(0))
            known = any(hmac.compare_digest(digest, d) for d, _ in self._entries)
            return KEY_MASK if known else m.group(0)

        return _TOKEN.sub(hide, text)

    def authenticate(self, presented: str | None) -> Principal | None:
        """The principal for a presented key, or None; compares against every key in turn."""
        if self.disabled:
            return Principal(ANONYMOUS, "admin")
        if not presented:
            return None
        digest = _digest(presented)
        found: Scope | None = None
        for known, scope in self._entries:
            if hmac.compare_digest(digest, known):
                found = scope
        if found is None:
            return None
        return Principal(digest.hex()[:KEY_ID_CHARS], found)


class ApiGuard:
    """Authentication, scope and rate limit for one request."""

    def __init__(self, keyring: ApiKeyring, limiter: Limiter) -> None:
        self.keyring = keyring
        self.limiter = limiter

    def authenticate(self, presented: str | None, client: str) -> Principal:
        """The caller's principal; 401 for a missing or unknown key (429 once this address
        has been refused too often this minute)."""
        principal = self.keyring.authenticate(presented)
        if principal is None:
            self._limit(f"refused:{client}", "refused requests from this address")
            raise ApiError(
                401,
                "unauthorized",
                "missing or invalid API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return principal

    def check(
        self,
        presented: str | None,
        needed: Scope,
        client: str,
        principal: Principal | None = None,
    ) -> Principal:
        """Authentication (unless :class:`KeyGate` already gave the ``principal``), then the
        scope ``needed`` (403), then the per-key budget (429)."""
        if principal is None:
            principal = self.authenticate(presented, client)
        if not principal.allows(needed):
            raise ApiError(
                403, "forbidden", f"this API key has scope {principal.scope!r}; {needed!r} needed"
            )
        if principal.key_id == ANONYMOUS:
            self._limit(f"ip:{client}", "requests per client address")
        else:
            self._limit(principal.key_id, "requests per key")
        return principal

    def _limit(self, bucket: str, what: str) -> None:
        """429 with Retry-After when ``bucket`` has spent its budget for the minute."""
        try:
            wait = self.limiter.acquire(bucket)
        except BackendUnavailableError as exc:  # the shared store is down: refuse, not admit
            raise ApiError(503, "backend_unavailable", str(exc)) from exc
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"rate limit reached: {self.limiter.capacity:g} {what} per minute",
                headers=retry_after_header(wait),
            )


PRINCIPAL_STATE = "principal"  # request.state attribute where KeyGate leaves the caller


def require(needed: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits keys with scope ``needed`` (or admin) within their rate limit."""

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
        api_key: Annotated[str | None, Security(api_key_scheme)],
    ) -> Principal:
        guard: ApiGuard = request.app.state.guard
        presented = bearer.credentials if bearer is not None else api_key
        client = request.client.host if request.client else "unknown"
        gated = getattr(request.state, PRINCIPAL_STATE, None)
        return guard.check(presented, needed, client, gated)

    return dependency


def presented_key(headers: Headers) -> str | None:
    """The key a request carries, read exactly as the route dependencies read it: a bearer
    token first, else ``X-API-Key``."""
    scheme, credentials = get_authorization_scheme_param(headers.get("authorization"))
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return headers.get(api_key_scheme.model.name) or None


class KeyGate:
    """Refuses a request to a keyed path (``/v1/...``) that carries no valid key before its
    body is read: an anonymous client cannot make the server parse JSON or spool an upload,
    and learns nothing about a route but that it needs a key. Scopes and the per-key budget
    are checked by each route's :func:`require`, after this.
    """

    def __init__(
        self,
        app: ASGIApp,
        guard: ApiGuard,
        reject: Callable[[ApiError], ASGIApp],
        prefix: str = KEYED_PREFIX,
    ) -> None:
        self.app = app
        self.guard = guard
        self.reject = reject
        self.prefix = prefix

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            client = scope["client"][0] if scope.get("client") else "unknown"
            try:
                principal = self.guard.authenticate(presented_key(Headers(scope=scope)), client)
            except ApiError as refused:
                await self.reject(refused)(scope, receive, send)
                return
            scope.setdefault("state", {})[PRINCIPAL_STATE] = principal  # for require()
        await self.app(scope, receive, send)

"""Server-Sent Events framing (``text/event-stream``)."""

from __future__ import annotations

from pydantic import BaseModel

SSE_MEDIA_TYPE = "text/event-stream"
# No caching, and no buffering by a reverse proxy (nginx honours X-Accel-Buffering).
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_event(data: BaseModel | str, event: str | None = None) -> str:
    """One event: an optional ``event:`` line, ``data:`` lines, and a blank line.

    >>> sse_event("[DONE]")
    'data: [DONE]\\n\\n'
    """
    text = data if isinstance(data, str) else data.model_dump_json(exclude_none=False)
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in text.split("\n")]
    return "\n".join(lines) + "\n\n"

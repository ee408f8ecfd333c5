"""NHS_ASSISTANT_LOG_FORMAT=json: one JSON object a line, each with its request id."""

from __future__ import annotations

import io
import json
import logging

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from assistant.api.request_context import RequestContextMiddleware, RequestIdFilter, json_formatter


def test_every_line_is_json_with_the_request_id():
    def hello(request):
        logging.getLogger("assistant.test").info("working on it")
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/hello", hello)])
    app.add_middleware(RequestContextMiddleware)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        with TestClient(app) as client:
            assert client.get("/hello", headers={"X-Request-ID": "req-42"}).status_code == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    mine = [line["message"] for line in lines if line.get("request_id") == "req-42"]
    assert "working on it" in mine
    assert any(m.startswith("GET /hello -> 200 in ") for m in mine)  # the access line too
    assert all({"time", "level", "logger", "request_id", "message"} <= set(line) for line in lines)

"""The compose stack, end to end: images built locally (`make image`), `podman-compose up`,
a document uploaded and asked about through the API, an answer rated, the audit row kept in
PostgreSQL, then everything torn down, network and volumes included.

It builds images (minutes the first time, then cached), so on a developer's machine it runs only
when asked; CI asks (`.ci/run` sets NHS_ASSISTANT_STACK_TEST=1, and `make test` installs podman,
podman-compose and debootstrap; see the README's "Containers")."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PROJECT = "nhs-assistant-stacktest"
HEALTH_CHECKED = (
    "chroma",
    "db",
    "redis",
    "api",
    "ui",
    "audit-purge",
)  # all but the one-shot ingest
NOTE = "# Lounge rota\n\nThe discharge lounge coordinator books patient transport by 10am.\n"


def _needs_stack() -> None:
    if os.environ.get("NHS_ASSISTANT_STACK_TEST") != "1":
        pytest.skip("the stack test builds images: run it with NHS_ASSISTANT_STACK_TEST=1")
    for tool in ("podman", "podman-compose", "debootstrap"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (apt-get install podman podman-compose ...)")


def _run(*args: str, env: dict[str, str], timeout: float = 1800) -> str:
    done = subprocess.run(
        args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _wait_healthy(compose: list[str], env: dict[str, str], timeout_s: float = 300) -> None:
    """Run every service's own health check (compose.yaml) until each passes.

    Podman schedules health checks with systemd timers, which these machines lack, so the
    checks are run here by hand: this proves each check's command works inside its image."""
    names = subprocess.run(
        [
            "podman",
            "ps",
            "--filter",
            f"label=io.podman.compose.project={PROJECT}",
            "--format",
            "{{.Names}}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    checked = {n.split("_")[-2]: n for n in names if not n.endswith(("_ingest_1",))}
    assert set(HEALTH_CHECKED) <= set(checked), names
    deadline = time.monotonic() + timeout_s
    for service in HEALTH_CHECKED:
        while True:
            run = subprocess.run(
                ["podman", "healthcheck", "run", checked[service]],
                env=env,
                capture_output=True,
                text=True,
            )
            if run.returncode == 0:
                break
            assert time.monotonic() < deadline, f"{service}: {run.stdout}{run.stderr}"
            time.sleep(3)


def test_the_stack_comes_up_answers_and_goes_away(tmp_path: Path) -> None:
    _needs_stack()
    env = {
        **os.environ,
        "CONTAINERS_CONF": str(PROJECT_ROOT / "deploy" / "containers.conf"),
        "API_PORT": str(free_port()),
        "UI_PORT": str(free_port()),
    }
    _run("make", "image", env=env)
    stack_env = PROJECT_ROOT / "deploy" / "stack.env"
    if not stack_env.exists():
        _run("make", "deploy/stack.env", env=env)
    keys = dict(
        pair.split(":", 1)
        for pair in re.search(r"^NHS_ASSISTANT_API_KEYS=(.*)$", stack_env.read_text(), re.M)
        .group(1)
        .split(",")
    )
    compose = ["podman-compose", "-p", PROJECT, "-f", "compose.yaml"]
    base = f"http://127.0.0.1:{env['API_PORT']}"
    try:
        _run(*compose, "up", "-d", env=env)
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=3).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, _run(*compose, "logs", "api", env=env)[-3000:]
            time.sleep(2)
        _wait_healthy(compose, env)
        admin = httpx.Client(base_url=base, headers={"X-API-Key": keys["admin"]}, timeout=60)
        asker = httpx.Client(base_url=base, headers={"X-API-Key": keys["ask"]}, timeout=60)
        up = admin.post(
            "/v1/documents", files={"file": ("lounge.md", NOTE.encode(), "text/markdown")}
        )
        assert up.status_code == 201, up.text
        answer = asker.post(
            "/v1/ask", json={"question": "Who books patient transport from the discharge lounge?"}
        ).json()
        assert not answer["refused"] and answer["citations"][0]["doc_id"] == "lounge.md", answer
        rated = asker.post("/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "up"})
        assert rated.status_code == 201
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200  # offline Swagger UI
        exported = _run(*compose, "exec", "-T", "api", "nhs-assistant", "audit", "export", env=env)
        assert answer["answer_id"] in exported and keys["ask"] not in exported
    finally:
        subprocess.run([*compose, "down", "-v"], cwd=PROJECT_ROOT, env=env, capture_output=True)
        subprocess.run(
            ["podman", "network", "rm", "-f", f"{PROJECT}_default"],
            env=env,
            capture_output=True,
        )
    left = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}", "-q"],
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert left == ""

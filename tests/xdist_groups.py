"""Tests that share a costly fixture run on one pytest-xdist worker (``--dist loadgroup``).

A session fixture is built once per worker: under ``pytest -n 2`` an index of the real corpus
with MiniLM, the llama.cpp server or ``chroma run`` would be built twice, each copy fighting the
other for the same two cores. So every test is given a group, decided where the fixtures are
known (in the workers, after collection):

* the first costly session fixture of ``SHARED_ON_ONE_WORKER`` that it uses, directly or through
  another fixture;
* else its module, when it uses a module- or class-scoped fixture (built once per worker too);
* else none: such tests are spread one by one, wherever a worker is free.

xdist's own ``loadgroup`` reads groups from ``@pytest.mark.xdist_group`` by appending them to the
test ids, which pytest 9.2's structured ids ignore (pytest-dev/pytest-xdist#1386): every test is
then spread as if it had no group. So the workers write their groups to a file the controller
named, and the controller's scheduler (xdist's ``LoadScopeScheduling`` with groups for scopes)
reads it. Largest groups are sent first. Without ``--dist loadgroup`` nothing here runs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Session fixtures that cost seconds to minutes. First match wins.
SHARED_ON_ONE_WORKER = ("corpus_services", "llama_server", "chroma_server")
DIR_KEY = "nhs_assistant_groups_dir"


def group_of(item: pytest.Item) -> str | None:
    """The worker group of a test (see the module docstring), or None."""
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
    names = getattr(item, "fixturenames", ())
    for name in SHARED_ON_ONE_WORKER:
        if name in names:
            return name
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else ()
    if any(d[-1].scope in ("module", "class", "package") for d in defs if d):
        return item.nodeid.split("::", 1)[0]
    return None


class Controller:
    """In the process that runs ``pytest -n N``: names a folder for the workers' groups and
    schedules by them."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="pytest-groups-"))

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[DIR_KEY] = str(self.folder)

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        from xdist.scheduler import LoadScopeScheduling

        folder = self.folder

        class GroupScheduling(LoadScopeScheduling):
            """xdist's scope scheduling, a scope being a test's group (or the test alone)."""

            groups: dict[str, str] | None = None

            def _split_scope(self, nodeid: str) -> str:
                if self.groups is None:
                    # Every worker collects the same tests: any one file will do.
                    files = sorted(folder.glob("*.json"))
                    self.groups = json.loads(files[0].read_text()) if files else {}
                return self.groups.get(nodeid, nodeid)

        return GroupScheduling(config, log)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Worker:
    """In each xdist worker: writes every collected test's group for the controller."""

    def __init__(self, folder: str, worker: str) -> None:
        self.path = Path(folder) / f"{worker}.json"

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        groups = {item.nodeid: group for item in items if (group := group_of(item))}
        partial = self.path.with_suffix(".part")
        partial.write_text(json.dumps(groups))
        os.replace(partial, self.path)  # the controller never reads half a file


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        if DIR_KEY in workerinput:
            config.pluginmanager.register(
                Worker(workerinput[DIR_KEY], workerinput["workerid"]), "nhs-xdist-groups"
            )
    elif config.getoption("dist", "no") == "loadgroup":
        config.pluginmanager.register(Controller(), "nhs-xdist-groups")

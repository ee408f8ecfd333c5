"""Worker groups for pytest-xdist (tests/xdist_groups.py): tests sharing a costly session fixture
run on one worker, so the fixture is built once, not once per worker."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from tests.conftest import PROJECT_ROOT
from tests.xdist_groups import group_of

CONFTEST = """
import os
import time

import pytest

pytest_plugins = ("tests.xdist_groups",)


@pytest.fixture(scope="session")
def corpus_services(tmp_path_factory):
    with open(os.environ["BUILT_LOG"], "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\\n")
    time.sleep(0.5)  # long enough for the other worker to start a test of its own
    return "index"


@pytest.fixture
def uses_the_index(corpus_services):
    return corpus_services


@pytest.fixture(scope="module")
def per_module():
    return 1
"""

TESTS = """
import time

import pytest


@pytest.mark.parametrize("n", range(4))
def test_direct(corpus_services, n):
    time.sleep(0.05)


def test_through_another_fixture(uses_the_index):
    pass


def test_module_fixture(per_module):
    pass


@pytest.mark.parametrize("n", range(8))
def test_alone(n):
    time.sleep(0.05)
"""


def test_groups_come_from_the_costly_session_fixture_then_the_module(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    items = pytester.getitems(TESTS)
    groups = {item.name: group_of(item) for item in items}
    assert groups["test_direct[0]"] == "corpus_services"
    assert groups["test_through_another_fixture"] == "corpus_services"
    assert groups["test_module_fixture"].endswith(".py")  # the module's path
    assert groups["test_alone[0]"] is None


@pytest.mark.integration
def test_two_workers_build_a_shared_session_fixture_once(pytester: pytest.Pytester, monkeypatch):
    """End to end under ``-n 2 --dist loadgroup``: every test passes, and the index fixture is
    built by one worker only (xdist's own loadgroup would build it on both)."""
    built = pytester.path / "built.log"
    monkeypatch.setenv("BUILT_LOG", str(built))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PROJECT_ROOT), *sys.path]))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # schemathesis etc.: seconds
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_grouped=textwrap.dedent(TESTS))
    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"
    )
    result.assert_outcomes(passed=14)
    assert len(built.read_text().split()) == 1

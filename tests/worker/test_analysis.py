"""run_analysis, the preview as a worker runs it: its reply on success, on a refused address and at its deadline."""

from __future__ import annotations

import pytest

from backend.urlguard.deadline import Deadline
from tests.slowserver import slow_server, trickled_header
from worker.analysis import run_analysis


@pytest.fixture
def warm_watchdog():
    with Deadline(0.01):
        pass


def test_a_loopback_page_is_blocked_url_when_private_addresses_are_refused(make_settings):
    """SCRAPER_ALLOW_PRIVATE off (the default in production): the reply is the blocked_url error."""
    reply = run_analysis("http://127.0.0.1:9/p", 10, make_settings(scraper_allow_private=False), seconds=5)
    assert reply["error"]["code"] == "blocked_url"


def test_a_page_trickling_its_headers_ends_at_the_preview_deadline(make_settings, warm_watchdog):
    """The preview's `seconds` bound the page fetch on the wall clock: a trickle is a timeout reply."""
    with slow_server(lambda _path: trickled_header(0.25, 40)) as server:
        reply = run_analysis(server.url("/p"), 10, make_settings(), seconds=0.6)
        assert reply["error"]["code"] == "timeout"
        assert server.finished() == [False]


def test_no_time_left_is_a_timeout_without_a_request(make_settings):
    """A message picked up after its caller stopped waiting fetches nothing."""
    with slow_server(lambda _path: trickled_header(0.25, 4)) as server:
        reply = run_analysis(server.url("/p"), 10, make_settings(), seconds=0)
        assert reply["error"]["code"] == "timeout"
        assert server.connections == []

"""One wall-clock deadline per request: a server trickling its status line, headers or body is cut off.

The servers are real sockets (tests/slowserver.py) whose scripts end after several times the
budget; a client that was not cut off gets the whole answer, so each test checks that the
client gave up while the server still had steps to send (no timing is asserted).
"""

from __future__ import annotations

import socket

import pytest

from backend.errors import FetchTimeoutError, ImageRejectedError
from backend.urlguard.deadline import Deadline
from tests.slowserver import slow_server, trickled_body, trickled_header, trickled_header_lines
from worker.pipeline.download import download_image
from worker.pipeline.fetch import fetch_page
from worker.pipeline.types import Candidate

BUDGET = 0.6


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(lambda _path: trickled_header(0.25, 40), id="header-byte-every-0.25s"),
        pytest.param(lambda _path: trickled_header_lines(0.3, 35), id="header-line-every-0.3s"),
    ],
)
def test_trickled_headers_are_cut_at_the_deadline(script, make_settings, http):
    """Status line and headers count against the one deadline, however steadily the bytes come."""
    settings = make_settings(scraper_timeout=BUDGET, scraper_allow_private=True)
    with slow_server(script) as server:
        with pytest.raises(FetchTimeoutError):
            fetch_page(server.url("/page"), settings, http)
        assert server.finished() == [False]


def test_trickled_image_body_without_length_is_a_timeout_not_a_short_image(make_settings, http):
    """A body that ends at close looks complete when the socket is cut: it must still be a timeout."""
    settings = make_settings(scraper_timeout=BUDGET, scraper_allow_private=True)
    with slow_server(lambda _path: trickled_body(0.2, 60)) as server:
        candidate = Candidate(url=server.url("/a.jpg"), source="img", position=0)
        with pytest.raises(ImageRejectedError) as caught:
            download_image(candidate, settings, http, referer="")
        assert caught.value.reason == "timeout"
        assert server.finished() == [False]


def test_an_image_download_ends_with_its_parent_budget(make_settings, http):
    """Within a job's image budget, a download ends when the budget does, before its own timeout."""
    settings = make_settings(scraper_timeout=30.0, scraper_allow_private=True)
    with slow_server(lambda _path: trickled_header(0.25, 40)) as server, Deadline(BUDGET) as budget:
        candidate = Candidate(url=server.url("/b.jpg"), source="img", position=0)
        with pytest.raises(ImageRejectedError) as caught:
            download_image(candidate, settings, http, referer="", within=budget)
        assert caught.value.reason == "timeout"
        assert server.finished() == [False]


def test_cutting_a_deadline_unblocks_a_read_at_once():
    """cut() shuts the watched socket: a recv blocked with no timeout returns."""
    left, right = socket.socketpair()
    with left, right, Deadline(60.0) as deadline:
        deadline.watch(left)
        deadline.cut()
        assert left.recv(10) == b""
        with pytest.raises(FetchTimeoutError):
            deadline.remaining()


def test_a_child_of_a_cut_deadline_is_cut_and_one_made_later_starts_cut():
    with Deadline(60.0) as parent, Deadline(60.0, within=parent) as child:
        parent.cut()
        assert child.cut_off
        with Deadline(60.0, within=parent) as late:
            assert late.expired()


def test_closing_a_deadline_releases_its_duplicate_descriptors():
    """Each watched socket is duplicated while watched; closing the deadline closes the duplicates."""
    left, right = socket.socketpair()
    with left, right:
        deadline = Deadline(60.0)
        with deadline:
            deadline.watch(left)
            assert len(deadline._sockets) == 1
            duplicate = deadline._sockets[0]
        assert duplicate.fileno() == -1
        right.sendall(b"still open")
        assert left.recv(10) == b"still open"

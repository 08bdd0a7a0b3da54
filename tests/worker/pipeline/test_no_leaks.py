"""After a job ends, nothing it started still runs: no download thread, no socket to the slow server.

Eight images trickle their bodies from a real loopback server far longer than the images
budget; the images phase ends on its budget, and at that moment the threads and the sockets
to that server are counted, three times in a row.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from backend.urlguard.deadline import Deadline
from tests.slowserver import our_threads, slow_server, trickled_body
from worker.pipeline import ProgressTracker, make_http_session, process_candidates
from worker.pipeline.types import Candidate, Progress

IMAGES = 8


def client_sockets(server_port: int) -> int:
    """This process's TCP connections whose remote end is the server's port (/proc/net/tcp)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    count = 0
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == server_port and fields[9] in inodes:
                count += 1
    return count


def image_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("image")]


def wait_until(condition, seconds: float = 10.0) -> bool:
    """Poll `condition` (the server's threads notice a closed peer on their next write)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def warm_watchdog():
    """The deadline watchdog is one long-lived thread per process: start it before counting."""
    with Deadline(0.01):
        pass


def test_images_phase_leaves_no_thread_or_socket_behind(make_settings, warm_watchdog):
    """Three budgets end with 8 downloads mid-body each: every one is cut, its thread joined, its socket closed."""
    settings = make_settings(scraper_timeout=60, scraper_allow_private=True)
    with slow_server(lambda _path: trickled_body(0.2, 300)) as server, make_http_session(settings) as http:
        threads_before = our_threads()
        for round_ in range(3):
            candidates = [
                Candidate(url=server.url(f"/slow/{round_}/{n}.jpg"), source="img", position=n)
                for n in range(IMAGES)
            ]
            tracker = ProgressTracker(Progress(images_found=IMAGES))
            images, skips = process_candidates(
                candidates, server.url("/"), settings, http, tracker, budget_seconds=0.4
            )
            assert image_threads() == []
            assert our_threads() == threads_before
            assert client_sockets(server.port) == 0
            assert images == []
            assert [skip.reason for skip in skips] == ["timeout"] * IMAGES
        assert len(server.connections) == 3 * IMAGES
        assert wait_until(lambda: server.open_count() == 0)
        assert server.finished() == [False] * 3 * IMAGES

"""run_job's retry delay after a transient error: exponential, capped, and jittered so retries spread out."""

from __future__ import annotations

import random

from worker.tasks import MAX_RETRY_DELAY, retry_delay


def test_delays_double_per_retry_within_the_jitter_band():
    rng = random.Random(7)
    for retries, ceiling in ((0, 10.0), (1, 20.0), (2, 40.0), (3, 80.0)):
        delays = [retry_delay(10.0, retries, rng) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)


def test_delays_are_capped():
    rng = random.Random(7)
    assert all(MAX_RETRY_DELAY / 2 <= retry_delay(10.0, 12, rng) <= MAX_RETRY_DELAY for _ in range(200))


def test_a_burst_of_failures_does_not_retry_in_lockstep():
    """Fifty jobs failing at once get fifty different delays, spread over most of the band."""
    delays = [retry_delay(10.0, 1) for _ in range(50)]
    assert len(set(delays)) == 50
    assert max(delays) - min(delays) > 5.0

"""A worker pointed at rediss:// without certificate verification refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("cert_reqs", ["none", "CERT_OPTIONAL"])
def test_worker_refuses_unverified_rediss_at_start(cert_reqs):
    """`celery -A worker worker` exits at once with one line naming REDIS_URL, before touching the network."""
    env = {**os.environ, "APP_ENV": "test", "REDIS_URL": f"rediss://127.0.0.1:1/0?ssl_cert_reqs={cert_reqs}"}
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "configuration error: REDIS_URL: ssl_cert_reqs=none is refused; TLS to Redis must verify the certificate"
    )

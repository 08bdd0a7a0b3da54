"""The SSRF guard: which URLs and hosts may be requested, and a transport that connects only to vetted addresses.

The API checks a job's URLs with it at submission, the pipeline before every request, and the
callbacks before every delivery. It needs neither Flask nor the pipeline's libraries.
"""

from backend.urlguard.hosts import (
    WEB_SCHEMES,
    IpAddress,
    Resolver,
    check_url,
    ip_literal,
    is_public_address,
    normalize_url,
    system_resolver,
    vet_host,
)
from backend.urlguard.pinned import PinnedAdapter, make_pinned_session, session_resolver

__all__ = [
    "WEB_SCHEMES",
    "IpAddress",
    "PinnedAdapter",
    "Resolver",
    "check_url",
    "ip_literal",
    "is_public_address",
    "make_pinned_session",
    "normalize_url",
    "session_resolver",
    "system_resolver",
    "vet_host",
]

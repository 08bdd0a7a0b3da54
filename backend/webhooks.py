"""Per-user webhook secrets and the HMAC-SHA256 signature that job callbacks carry.

The signature covers `<timestamp>.<raw body>`, the timestamp being the X-Signature-Timestamp
header (unix seconds), so a receiver that refuses timestamps older than
SIGNATURE_TOLERANCE_SECONDS cannot be fed a captured callback again later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.models import User

SIGNATURE_HEADER = "X-Signature-256"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
# What receivers are told to accept: a callback signed up to five minutes ago (or ahead, for clock skew).
SIGNATURE_TOLERANCE_SECONDS = 300


def ensure_webhook_secret(session: Session, user_id: uuid.UUID) -> str:
    """The user's webhook secret, created on first use; the caller commits.

    A guarded UPDATE, so two processes creating it at once agree on one value.
    """
    session.execute(
        update(User)
        .where(User.id == user_id, User.webhook_secret.is_(None))
        .values(webhook_secret=SECRET_PREFIX + secrets.token_hex(24))
        .execution_options(synchronize_session=False)
    )
    secret = session.scalar(select(User.webhook_secret).where(User.id == user_id))
    if secret is None:
        raise LookupError(f"no user {user_id}")
    return secret


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: "sha256=" + hex HMAC-SHA256 of `timestamp.body`, keyed by the secret."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    header: str,
    *,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: the timestamp is recent (within `tolerance`) and signed with the body."""
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)

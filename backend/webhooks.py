"""Per-user webhook secrets and the HMAC-SHA256 signature that job callbacks carry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.models import User

SIGNATURE_HEADER = "X-Signature-256"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


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


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`: "sha256=" + hex HMAC-SHA256 keyed by the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """True when `header` is the signature of `body` (constant-time compare); what a receiver does."""
    return hmac.compare_digest(sign(secret, body), header)

"""API keys: generate, hash, verify, and find the caller for a Bearer token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from backend.models import ApiKey, User, utcnow

KEY_PREFIX = "pis_"
# The user `make run`'s dev key belongs to, and whom the `scraper` command acts as by default.
DEV_USER_EMAIL = "dev@localhost"
# last_used_at is "when was this key last seen", to the minute: writing it on every request
# would turn each authenticated read into an UPDATE and a commit.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: `plaintext` is shown once and never stored."""

    user_id: object
    key_id: object
    plaintext: str


def hash_key(plaintext: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough; no salt is needed
    # and the hash can be looked up directly.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def get_or_create_user(session: Session, email: str) -> User:
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email)
        session.add(user)
        session.flush()
    return user


def issue_api_key(session: Session, email: str) -> IssuedKey:
    """Create the user if needed and a new key for them; the caller commits."""
    user = get_or_create_user(session, email)
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, key_hash=hash_key(plaintext), prefix=plaintext[:12])
    session.add(key)
    session.flush()
    return IssuedKey(user_id=user.id, key_id=key.id, plaintext=plaintext)


def authenticate(session: Session, plaintext: str) -> User | None:
    """The user owning this key, or None if it is unknown or revoked (identify_caller's decision)."""
    caller = identify_caller(session, plaintext)
    return session.get(User, caller.user_id) if caller is not None else None


@dataclass(frozen=True)
class Caller:
    """Who a valid key belongs to, and whether checking it stamped last_used_at (to be committed)."""

    user_id: uuid.UUID
    stamped: bool


# Built once: constructing the statement and its cache key on every request showed in profiles.
KEY_BY_HASH = select(
    ApiKey.id, ApiKey.user_id, ApiKey.key_hash, ApiKey.revoked_at, ApiKey.last_used_at
).where(ApiKey.key_hash == bindparam("digest"))


def identify_caller(session: Session, plaintext: str) -> Caller | None:
    """The caller owning this key, or None if it is unknown or revoked: the API's per-request check.

    One narrow read (four columns, no ORM objects), because it runs before every API
    request. A stale last_used_at is stamped with a plain UPDATE in the session's
    transaction; the caller commits it when `stamped` says so.
    """
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    digest = hash_key(plaintext)
    row = session.execute(KEY_BY_HASH, {"digest": digest}).first()
    # The lookup matched on the hash already; the constant-time compare keeps the
    # final decision free of timing differences.
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    stale = _stale(row.last_used_at)
    if stale:
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=utcnow()))
    return Caller(user_id=row.user_id, stamped=stale)


def _stale(last_used_at: datetime | None) -> bool:
    """True if the key's last use is unknown or older than LAST_USED_RESOLUTION."""
    if last_used_at is None:
        return True
    return utcnow() - last_used_at >= LAST_USED_RESOLUTION

"""@require_api_key: a Bearer API key identifies the caller (on `g`); 401 otherwise."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import g, request

from backend.api import db_session
from backend.api.declare import KEY_REQUIRED_ATTR
from backend.api.problems import ApiProblem
from backend.auth import identify_caller

P = ParamSpec("P")
R = TypeVar("R")

REALM = 'Bearer realm="api"'


def _unauthorized(detail: str, *, invalid: bool) -> ApiProblem:
    # RFC 6750: no error code when credentials are absent, invalid_token when they are wrong.
    challenge = f'{REALM}, error="invalid_token"' if invalid else REALM
    return ApiProblem(401, detail, headers={"WWW-Authenticate": challenge})


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_api_key(view: Callable[P, R]) -> Callable[P, R]:
    """Authenticate the request's Bearer key; sets `g.user_id` or answers 401."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _bearer_token()
        if token is None:
            raise _unauthorized("An API key is required: Authorization: Bearer <key>.", invalid=False)
        session = db_session()
        caller = identify_caller(session, token)
        if caller is None:
            raise _unauthorized("The API key is invalid or revoked.", invalid=True)
        g.user_id = caller.user_id
        # Recording the key's last use is its own unit of work, committed before the view runs.
        # It happens at most once a minute; otherwise the view goes on in the same transaction
        # (ending it would return the connection and pay the pool's pre-ping again).
        if caller.stamped:
            session.commit()
        return view(*args, **kwargs)

    setattr(wrapper, KEY_REQUIRED_ATTR, True)  # the OpenAPI document reads it (backend.api.declare)
    return wrapper


def current_user_id() -> uuid.UUID:
    """The authenticated caller's id (only inside a @require_api_key view)."""
    return g.user_id

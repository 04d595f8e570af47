"""Bearer tokens: ``Authorization: Bearer <token>``; for EventSource and WebSocket,
which can't set headers in a browser, also ``?access_token=<token>``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..service import AuthenticationFailed, Principal, TokenService

log = logging.getLogger(__name__)

DEV_PRINCIPAL = Principal("anonymous", admin=True)


def bearer(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> str | None:
    """The presented secret, from the header or (when allowed) the query string."""
    header = headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        return value.strip()
    if query is not None:
        return query.get("access_token") or None
    return None


class Authenticator:
    """Turns a request's credentials into a Principal. With ``enabled=False`` (the
    --no-auth dev mode) everyone is an admin."""

    def __init__(self, tokens: TokenService, *, enabled: bool = True) -> None:
        self.tokens = tokens
        self.enabled = enabled

    def principal(self, headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> Principal:
        if not self.enabled:
            return DEV_PRINCIPAL
        return self.tokens.authenticate(bearer(headers, query))

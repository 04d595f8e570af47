"""Bearer tokens: ``Authorization: Bearer <token>``; for EventSource and WebSocket,
which can't set headers in a browser, also ``?access_token=<token>``. The SSE streams
also take the dashboard's session cookie (offload.dashboard.sessions)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..dashboard.sessions import SESSION_COOKIE, cookie_name, signed_in
from ..service import AuthenticationFailed, Principal, TokenService
from ..service.principal import DEV_PRINCIPAL

log = logging.getLogger(__name__)


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

    def principal(
        self,
        headers: Mapping[str, str],
        query: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> Principal:
        """``cookies``: given by the routes that accept a dashboard session (the SSE
        streams), used when no token was presented."""
        if not self.enabled:
            return DEV_PRINCIPAL
        secret = bearer(headers, query)
        if secret is None and cookies is not None:
            return signed_in(self.tokens, cookies.get(cookie_name(SESSION_COOKIE, headers.get("host"))))[0]
        return self.tokens.authenticate(secret)

"""Dashboard sessions and CSRF tokens, free of any web framework.

A session is derived from the API token it was opened with; nothing is stored on the
server. The cookie holds ``<token>.<expiry>.<signature>``: the token (checked against
the store on every request, so revoking it ends every session at once), the expiry
(POSIX seconds) and an HMAC of the expiry keyed by the token together with the
token's stored id, which the browser never sees. So a session survives a restart of
the server, and a cookie whose expiry was moved on is refused. The cookie is HttpOnly,
so a page's script never reads it.

Forms carry a CSRF token. In a session it is an HMAC keyed like the signature, so it
needs no storage either. Where there is no session of ours (the sign-in form, the
--no-auth mode, a host app's own login) it is a signed double submit: a random nonce
in a cookie of its own, and an HMAC of the nonce and the user under a server secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from ..errors import AuthenticationFailed, ConfigurationError
from ..service import Principal, TokenService

SESSION_COOKIE = "offload_session"
NONCE_COOKIE = "offload_csrf"
CSRF_FIELD = "csrf"
MAX_COOKIE = 600  # bytes; a token is 47 characters, anything much longer is not ours


def cookie_name(base: str, host: str | None) -> str:
    """Browsers share cookies between ports of one host: two servers on 127.0.0.1:8000
    and :8001 would sign each other out. A port in the Host header goes into the name."""
    port = (host or "").rpartition(":")[2] if (host or "").count(":") == 1 else ""
    return f"{base}_{port}" if port.isdigit() else base


def _key(token: str, token_id: str | None) -> bytes:
    material = f"offload-session\0{token_id or ''}\0{token}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(material).digest()


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:43]


@dataclass(frozen=True, slots=True)
class Session:
    """An open session: the API token and when the session ends."""

    token: str
    expires: int

    @classmethod
    def parse(cls, value: str | None) -> tuple[Session, str] | None:
        """(session, signature) from a cookie value; None when it isn't one of ours. The
        signature is checked by ``valid`` once the token's id is known."""
        if not value or len(value) > MAX_COOKIE:
            return None
        rest, sep, signature = value.rpartition(".")
        token, sep2, expires = rest.rpartition(".")
        if not (sep and sep2 and token and expires.isdigit() and signature):
            return None
        return cls(token, int(expires)), signature

    def signature(self, token_id: str | None) -> str:
        return _mac(_key(self.token, token_id), f"expires\0{self.expires}")

    def valid(self, signature: str, token_id: str | None, now: float | None = None) -> bool:
        """The signature is ours and the session has not ended."""
        now = time.time() if now is None else now
        return now < self.expires and hmac.compare_digest(signature, self.signature(token_id))

    def cookie_value(self, token_id: str | None) -> str:
        return f"{self.token}.{self.expires}.{self.signature(token_id)}"

    def csrf(self, token_id: str | None) -> str:
        """The CSRF token of this session's forms: the same for every session of the
        token, so that a page left open stays usable after the session was renewed."""
        return _mac(_key(self.token, token_id), "csrf")

    def renewed(self, ttl: float, now: float | None = None) -> Session | None:
        """A session ending ``ttl`` from now, when less than half of ``ttl`` is left
        (an active user is not signed out mid-work); else None."""
        now = time.time() if now is None else now
        if self.expires - now >= ttl / 2:
            return None
        return Session(self.token, int(now + ttl))


def signed_in(tokens: TokenService, cookie: str | None, now: float | None = None) -> tuple[Principal, Session]:
    """The principal of a session cookie, and its session: AuthenticationFailed when
    there is none, its token is unknown or revoked, or it was tampered with or ended."""
    found = Session.parse(cookie)
    if found is None:
        raise AuthenticationFailed("sign in first")
    session, signature = found
    principal = tokens.authenticate(session.token)
    if not session.valid(signature, principal.token_id, now):
        raise AuthenticationFailed("the session has ended; sign in again")
    return principal, session


def open_session(token: str, ttl: float, now: float | None = None) -> Session:
    now = time.time() if now is None else now
    return Session(token, int(now + ttl))


class FormSigner:
    """Signed double-submit CSRF tokens for visitors without a session of ours."""

    def __init__(self, secret: bytes | str) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        if not raw:
            raise ConfigurationError("the dashboard needs a secret key to sign its forms with")
        self.key = hashlib.sha256(b"offload-csrf\0" + raw).digest()

    @staticmethod
    def nonce() -> str:
        return secrets.token_urlsafe(18)

    @staticmethod
    def plausible(nonce: str | None) -> bool:
        return bool(nonce) and len(nonce or "") <= 64 and (nonce or "").isascii()

    def token(self, nonce: str, user: str) -> str:
        return _mac(self.key, f"{user}\0{nonce}")


def same(presented: str | None, expected: str) -> bool:
    """A constant-time comparison of a presented CSRF token with the expected one."""
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())

"""API tokens: created once (the secret is shown once), stored as a sha256 hash,
revocable. A presented secret becomes a Principal or AuthenticationFailed."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import TYPE_CHECKING

from ..backends.base import TokenRecord
from ..errors import AuthenticationFailed, InvalidRequest
from .principal import Principal
from .requests import MAX_KEY

if TYPE_CHECKING:
    from ..app import App

PREFIX = "off_"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


class TokenService:
    def __init__(self, app: App) -> None:
        self.app = app

    def create(self, user: str, *, admin: bool = False) -> tuple[TokenRecord, str]:
        """Store a new token for ``user``; return it and its secret (shown only now)."""
        if not user or len(user) > MAX_KEY or not user.isprintable():
            raise InvalidRequest("user", f"must be 1-{MAX_KEY} printable characters")
        secret = PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(
            id=secrets.token_hex(6), user=user, hash=token_hash(secret), admin=admin, created_at=time.time()
        )
        self.app.backend.token_insert(record)
        return record, secret

    def authenticate(self, secret: str | None) -> Principal:
        if not secret or len(secret) > 256:
            raise AuthenticationFailed()
        record = self.app.backend.token_by_hash(token_hash(secret))
        if record is None or record.revoked_at is not None:
            raise AuthenticationFailed("the token is unknown or revoked")
        return Principal(record.user, record.admin, record.id)

    def all(self) -> list[TokenRecord]:
        return self.app.backend.token_list()

    def revoke(self, token_id: str) -> bool:
        return self.app.backend.token_revoke(token_id)

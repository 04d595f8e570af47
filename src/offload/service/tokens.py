"""API tokens: created once (the secret is shown once), stored as a sha256 hash,
revocable. A presented secret becomes a Principal or AuthenticationFailed."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import TYPE_CHECKING

from ..errors import AuthenticationFailed, InvalidRequest
from ..records import JobRecord, TokenRecord
from .models import MAX_KEY, plausible_id
from .principal import Principal

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
        return _principal(self.app.backend.token_by_hash(_hash_of(secret)))

    async def authenticate_with_job(self, secret: str | None, job_id: str) -> tuple[Principal, JobRecord | None]:
        """authenticate and the job's record, read together (the store must have
        async_reads). The record is not checked against the principal: see
        JobService.visible."""
        reads = self.app.backend.async_reads
        assert reads is not None
        token, record = await reads.token_and_job_get(_hash_of(secret), job_id if plausible_id(job_id) else None)
        return _principal(token), record

    def all(self) -> list[TokenRecord]:
        return self.app.backend.token_list()

    def revoke(self, token_id: str) -> bool:
        return self.app.backend.token_revoke(token_id)


def _hash_of(secret: str | None) -> str:
    """The hash to look a presented secret up by; a missing or oversized one fails here."""
    if not secret or len(secret) > 256:
        raise AuthenticationFailed()
    return token_hash(secret)


def _principal(record: TokenRecord | None) -> Principal:
    if record is None or record.revoked_at is not None:
        raise AuthenticationFailed("the token is unknown or revoked")
    return Principal(record.user, record.admin, record.id)

"""Principal: who is asking. Users see their own jobs; admins see every job."""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Event, JobRecord


@dataclass(frozen=True, slots=True)
class Principal:
    user: str
    admin: bool = False
    token_id: str | None = None  # the API token that authenticated it, if any

    def may_see(self, record: JobRecord) -> bool:
        return self.admin or record.owner == self.user

    def may_see_event(self, event: Event) -> bool:
        """Events carry their job's owner, so a stream is filtered without a lookup."""
        return self.admin or event.owner == self.user

    @property
    def owner_filter(self) -> str | None:
        """The owner a job listing is restricted to (None: everyone's)."""
        return None if self.admin else self.user

    @property
    def key_prefix(self) -> str:
        """The namespace of this user's keys and ids. The length makes it unambiguous:
        user ``a`` with key ``b:x`` and user ``a:b`` with key ``x`` stay apart."""
        return f"{len(self.user)}:{self.user}:"

    def scoped(self, key: str) -> str:
        return self.key_prefix + key


# Who a visitor is when a server runs without authentication (the --no-auth dev mode).
DEV_PRINCIPAL = Principal("anonymous", admin=True)

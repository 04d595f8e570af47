"""Errors of the service layer: who may do what, and requests that make no sense.

    OffloadError
    ├── AuthenticationFailed   no credentials, or ones the store doesn't know (revoked too)
    ├── AccessDenied           authenticated, but not allowed (admin-only actions)
    └── InvalidRequest         a parameter that can't be understood (bad limit, status …)

Jobs a principal may not see are reported as ``JobNotFound``, exactly like missing ones.
"""

from __future__ import annotations

from ..errors import OffloadError

__all__ = ["AccessDenied", "AuthenticationFailed", "InvalidRequest"]


class AuthenticationFailed(OffloadError):
    def __init__(self, reason: str = "a valid bearer token is required") -> None:
        super().__init__(reason)


class AccessDenied(OffloadError):
    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(f"{action} needs an admin token")


class InvalidRequest(OffloadError):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"{name}: {reason}")

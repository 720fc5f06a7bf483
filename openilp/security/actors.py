"""Who is acting: the signed-in user as the services see it (everything but the password hash).

Lives in the security floor because the audit log, the permission checks and every service take
it; the accounts service (:mod:`openilp.services.accounts`) builds it from the ``users`` table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from openilp.security.roles import permissions_for

__all__ = ["UserInfo"]


@dataclass(frozen=True)
class UserInfo:
    """What the application may show about a user: everything except the password hash."""

    id: int
    username: str
    full_name: str
    role: str
    agency_id: int
    agency_code: str
    agency_name: str
    is_active: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    #: Whether a TOTP authenticator is enrolled and confirmed (the secret itself is never exposed).
    totp_enabled: bool = False
    #: Reviewers: last day (inclusive) their 28 CFR Part 23 training is valid.
    training_valid_until: dt.date | None = None
    password_changed_at: dt.datetime | None = None

    @property
    def permissions(self) -> frozenset[str]:
        """Permissions the user's role grants (see :mod:`openilp.security.roles`)."""
        return permissions_for(self.role)

    def can(self, permission: str) -> bool:
        """Whether the user's role holds ``permission``."""
        return permission in self.permissions

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view (ISO 8601 times, sorted permissions)."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
            "agency": {"id": self.agency_id, "code": self.agency_code, "name": self.agency_name},
            "is_active": self.is_active,
            "locked_until": iso(self.locked_until),
            "last_login_at": iso(self.last_login_at),
            "created_at": iso(self.created_at),
            "permissions": sorted(self.permissions),
            "totp_enabled": self.totp_enabled,
            "training_valid_until": self.training_valid_until.isoformat() if self.training_valid_until else None,
        }

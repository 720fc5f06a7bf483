"""User accounts: creation with validation, listing, administration, and the acting user of a command.

Passwords are stored only as argon2id hashes (:mod:`openilp.security.passwords`). Administrators
(``users:manage``) manage the accounts of their own agency: create them, change a role, deactivate
or reactivate, record the 28 CFR Part 23 training of reviewers, and revoke every session of an
account. The command line (``actor=None``) manages every agency. Each change is audited as an
``update`` (or ``create``) of the ``user``, with the field, the old and the new value.

A role change, a deactivation and a password change end the account's open sessions
(:mod:`openilp.services.accounts.sessions`), so a copied cookie stops working at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, User
from openilp.errors import Conflict, InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo
from openilp.security.passwords import hash_password
from openilp.security.roles import PERMISSIONS, ROLES, Role
from openilp.services.accounts.records import (
    USERNAME,
    info_of,
    normalise_username,
    require_agency,
    require_user_row,
    user_by_username,
    user_info,
)
from openilp.services.accounts.sessions import revoke_all_sessions

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "Account",
    "AccountList",
    "AccountRequest",
    "ActingUserRequest",
    "CreateUserRequest",
    "ListUsersRequest",
    "UpdateUserRequest",
    "SetTrainingRequest",
    "account",
    "acting_user",
    "create_user",
    "list_users",
    "reviewer_is_current",
    "set_training",
    "update_user",
    "validate_password",
]

#: Shortest accepted password, in characters (NIST SP 800-63B allows 8; we ask for more).
MIN_PASSWORD_LENGTH = 12
#: Longest accepted password, in characters (bounds the hashing work one request can cause).
MAX_PASSWORD_LENGTH = 1024


def validate_password(password: str, username: str = "") -> None:
    """Raise :class:`InvalidRequest` with a clear message when ``password`` is not acceptable.

    >>> validate_password("short")
    Traceback (most recent call last):
    ...
    openilp.errors.InvalidRequest: password must be at least 12 characters long (got 5)
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters long (got {len(password)})")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidRequest(f"password must be at most {MAX_PASSWORD_LENGTH} characters long")
    if username and password.strip().lower() == normalise_username(username):
        raise InvalidRequest("password must not be the username")


@dataclass(frozen=True)
class Account(Result):
    """One account's public view (never the password hash)."""

    user: UserInfo

    def as_dict(self) -> dict[str, Any]:
        return self.user.as_dict()


@dataclass(frozen=True)
class AccountList(Result):
    users: tuple[UserInfo, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"users": [u.as_dict() for u in self.users]}


def _manager_scope(actor: UserInfo | None) -> int | None:
    """The agency an actor may manage (None: every agency, the command line); refuses non-administrators."""
    if actor is None:
        return None
    if not actor.can("users:manage"):
        raise NotPermitted(f"your role ({actor.role}) may not manage accounts")
    return actor.agency_id


@dataclass(frozen=True)
class CreateUserRequest(Request):
    username: str = ""
    password: str = ""
    role: str = "analyst"
    agency_code: str = ""
    full_name: str = ""

    def validate(self) -> CreateUserRequest:
        name = normalise_username(self.username)
        if not USERNAME.match(name):
            raise InvalidRequest(
                "username must be 3–80 characters: letters, digits, '.', '_', '@' or '-', "
                f"starting with a letter or digit (got {self.username!r})"
            )
        if self.role not in ROLES:
            raise InvalidRequest(f"unknown role {self.role!r}; choose one of: {', '.join(ROLES)}")
        if len(self.full_name) > 200:
            raise InvalidRequest("full name must be at most 200 characters")
        validate_password(self.password, name)
        return CreateUserRequest(name, self.password, self.role, self.agency_code.strip(), self.full_name.strip())


def create_user(core: OpenILP, actor: UserInfo | None, request: CreateUserRequest) -> Account:
    """Create an active account. Administrators create accounts of their own agency only.

    Raises :class:`InvalidRequest` (username, role, password), :class:`NotFound` (agency),
    :class:`Conflict` (username taken). Audited as ``create`` of ``user``.
    """
    request = request.validate()
    scope = _manager_scope(actor)
    with core.unit_of_work(actor) as uow:
        agency = require_agency(uow.session, request.agency_code or (actor.agency_code if actor else ""))
        if scope is not None and agency.id != scope:
            raise NotPermitted("administrators create accounts of their own agency only")
        if user_by_username(uow.session, request.username) is not None:
            raise Conflict(f"username {request.username!r} already exists")
        user = User(
            username=request.username,
            full_name=request.full_name,
            password_hash=hash_password(request.password),
            role=request.role,
            agency_id=agency.id,
            is_active=True,
            failed_logins=0,
            totp_enabled=False,
            created_at=uow.now,
            password_changed_at=uow.now,
        )
        uow.session.add(user)
        uow.session.flush()
        uow.audit(
            action="create",
            object_type="user",
            object_id=user.username,
            agency_id=agency.id,
            details={"role": user.role},
        )
        return Account(info_of(user, agency))


@dataclass(frozen=True)
class ListUsersRequest(Request):
    """``agency_code`` narrows the command line's list; administrators always see their own agency."""

    agency_code: str | None = None


def list_users(core: OpenILP, actor: UserInfo | None, request: ListUsersRequest | None = None) -> AccountList:
    """Accounts ordered by username, never with hashes; a signed-in administrator's view is audited."""
    request = (request or ListUsersRequest()).validate()
    scope = _manager_scope(actor)
    with core.unit_of_work(actor) as uow:
        query = select(User, Agency).join(Agency, User.agency_id == Agency.id).order_by(User.username)
        if scope is not None:
            query = query.where(Agency.id == scope)
        elif request.agency_code is not None:
            query = query.where(Agency.code == request.agency_code)
        users = tuple(info_of(user, agency) for user, agency in uow.session.execute(query))
        if actor is not None:
            uow.audit(action="search", object_type="users", details={"returned": len(users)})
        return AccountList(users)


@dataclass(frozen=True)
class UpdateUserRequest(Request):
    """A change to an account; fields left None stay as they are."""

    username: str = ""
    role: str | None = None
    is_active: bool | None = None
    full_name: str | None = None

    def validate(self) -> UpdateUserRequest:
        if not self.username.strip():
            raise InvalidRequest("username: name the account to change")
        if self.role is not None and self.role not in ROLES:
            raise InvalidRequest(f"role: unknown role {self.role!r}; choose one of: {', '.join(ROLES)}")
        if self.full_name is not None and len(self.full_name) > 200:
            raise InvalidRequest("full_name: at most 200 characters")
        return self


def update_user(core: OpenILP, actor: UserInfo | None, request: UpdateUserRequest) -> Account:
    """Change an account's role, activity or name; audited per field. Ends its sessions on a role change
    or deactivation. Administrators may not change their own role or deactivate themselves (so an
    agency never loses its last administrator by accident)."""
    request = request.validate()
    scope = _manager_scope(actor)
    with core.unit_of_work(actor) as uow:
        user = require_user_row(uow.session, request.username, agency_id=scope)
        if (
            actor is not None
            and user.id == actor.id
            and (request.role not in (None, user.role) or request.is_active is False)
        ):
            raise NotPermitted("you may not change your own role or deactivate yourself; ask another administrator")
        changes: list[tuple[str, object, object]] = []
        if request.role is not None and request.role != user.role:
            changes.append(("role", user.role, request.role))
            user.role = request.role
        if request.is_active is not None and request.is_active != user.is_active:
            changes.append(("is_active", user.is_active, request.is_active))
            user.is_active = request.is_active
            if request.is_active:
                user.failed_logins = 0
                user.locked_until = None
        if request.full_name is not None and request.full_name.strip() != user.full_name:
            changes.append(("full_name", user.full_name, request.full_name.strip()))
            user.full_name = request.full_name.strip()
        uow.session.flush()
        for name, before, after in changes:
            uow.audit(
                action="update",
                object_type="user",
                object_id=user.username,
                agency_id=user.agency_id,
                details={"field": name, "from": before, "to": after},
            )
        if any(name in ("role", "is_active") for name, _, _ in changes):
            revoke_all_sessions(uow, user.id, reason="account_changed")
        info = user_info(uow.session, user.id)
        assert info is not None
        return Account(info)


@dataclass(frozen=True)
class SetTrainingRequest(Request):
    """The last day (inclusive) a reviewer's 28 CFR Part 23 training is valid; None clears it."""

    username: str = ""
    valid_until: dt.date | None = None


def set_training(core: OpenILP, actor: UserInfo | None, request: SetTrainingRequest) -> Account:
    """Record a user's reviewer training; audited as an ``update`` of the user (field ``training_valid_until``)."""
    request = request.validate()
    scope = _manager_scope(actor)
    with core.unit_of_work(actor) as uow:
        user = require_user_row(uow.session, request.username, agency_id=scope)
        previous = user.training_valid_until
        user.training_valid_until = request.valid_until
        uow.session.flush()
        uow.audit(
            action="update",
            object_type="user",
            object_id=user.username,
            agency_id=user.agency_id,
            details={
                "field": "training_valid_until",
                "from": previous.isoformat() if previous else None,
                "to": request.valid_until.isoformat() if request.valid_until else None,
            },
        )
        return Account(info_of(user, user.agency))


@dataclass(frozen=True)
class AccountRequest(Request):
    """One account, by id (a pending sign-in) or by username (an administrator's page)."""

    user_id: int | None = None
    username: str = ""

    def validate(self) -> AccountRequest:
        if self.user_id is None and not self.username.strip():
            raise InvalidRequest("name the account: user_id or username")
        return self


def account(core: OpenILP, actor: UserInfo | None, request: AccountRequest) -> Account:
    """One account's public view: the command line and the sign-in steps (``actor=None``), the
    user themself, or an administrator of the same agency. :class:`NotFound` otherwise."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        if request.user_id is not None:
            info = user_info(uow.session, request.user_id)
        else:
            row = user_by_username(uow.session, request.username)
            info = user_info(uow.session, row.id) if row is not None else None
    if info is None:
        raise NotFound("no such user")
    if (
        actor is not None
        and actor.id != info.id
        and not (actor.can("users:manage") and actor.agency_id == info.agency_id)
    ):
        raise NotFound("no such user")
    return Account(info)


@dataclass(frozen=True)
class ActingUserRequest(Request):
    """The account a command acts as (``--as USERNAME``) and the permission the command needs."""

    username: str = ""
    permission: str | None = None

    def validate(self) -> ActingUserRequest:
        if not self.username.strip():
            raise InvalidRequest("give the username to act as")
        if self.permission is not None and self.permission not in PERMISSIONS:
            raise InvalidRequest(f"unknown permission {self.permission!r}")
        return self


def acting_user(core: OpenILP, actor: UserInfo | None, request: ActingUserRequest) -> Account:
    """The active account a command acts as; :class:`NotFound` when there is none,
    :class:`NotPermitted` when its role lacks ``permission``."""
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        user = user_by_username(uow.session, request.username)
        info = user_info(uow.session, user.id) if user is not None else None
    if info is None or not info.is_active:
        raise NotFound(f"no active user {normalise_username(request.username)!r}")
    if request.permission is not None and not info.can(request.permission):
        raise NotPermitted(f"{info.username} ({info.role}) may not do this (needs {request.permission})")
    return Account(info)


def reviewer_is_current(user: UserInfo, today: dt.date) -> bool:
    """Whether ``user`` may approve intelligence on ``today`` (28 CFR 23.20(c): trained reviewers only).

    True when the user's role may review (``intel:review``; reviewers when that permission is not
    defined) and the training is valid through ``today`` (``training_valid_until`` inclusive).

    >>> import datetime as dt
    >>> base = dict(id=1, username="r", full_name="", agency_id=1, agency_code="A", agency_name="A",
    ...             is_active=True, locked_until=None, last_login_at=None, created_at=dt.datetime(2020, 1, 1))
    >>> reviewer = UserInfo(role="reviewer", training_valid_until=dt.date(2026, 6, 30), **base)
    >>> reviewer_is_current(reviewer, dt.date(2026, 6, 30)), reviewer_is_current(reviewer, dt.date(2026, 7, 1))
    (True, False)
    >>> analyst = UserInfo(role="analyst", training_valid_until=dt.date(2030, 1, 1), **base)
    >>> reviewer_is_current(analyst, dt.date(2026, 1, 1))
    False
    """
    reviewing_roles = PERMISSIONS.get("intel:review", frozenset({Role.REVIEWER.value}))
    if user.role not in reviewing_roles or not user.is_active:
        return False
    return user.training_valid_until is not None and today <= user.training_valid_until

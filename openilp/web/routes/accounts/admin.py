"""Administration of accounts: ``/admin/users`` (page) and ``/api/v1/users`` (JSON); administrators only.

An administrator (``users:manage``) of an agency creates its accounts, changes a role, deactivates
or reactivates an account, records a reviewer's 28 CFR Part 23 training, resets a lost
authenticator and ends every open session of an account. Each action calls one service of
:mod:`openilp.services.accounts`, which checks the permission and the agency and audits it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from openilp.core import OpenILP
from openilp.core.dates import parse_day
from openilp.security.actors import UserInfo
from openilp.security.roles import ROLES
from openilp.services.accounts.sessions import RevokeSessionsRequest, revoke_sessions
from openilp.services.accounts.totp import TotpResetRequest, reset_totp
from openilp.services.accounts.users import (
    CreateUserRequest,
    ListUsersRequest,
    SetTrainingRequest,
    UpdateUserRequest,
    create_user,
    list_users,
    set_training,
    update_user,
)
from openilp.web.actions import Outcome, attempt
from openilp.web.auth import require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.rendering import render

__all__ = ["api", "pages", "ACTIONS"]

api = APIRouter(prefix="/api/v1", tags=["accounts"])
pages = APIRouter(include_in_schema=False)

#: What the per-account form can do (the ``action`` field).
ACTIONS = ("role", "activate", "deactivate", "training", "revoke_sessions", "totp_reset")


@api.get("/users")
def users_api(user: UserInfo = Depends(require("users:manage")), core: OpenILP = Depends(get_core)) -> dict[str, Any]:
    """Accounts of your agency (administrators only); audited as a ``search`` of ``users``."""
    return list_users(core, user, ListUsersRequest()).as_dict()


def _page(request: Request, core: OpenILP, user: UserInfo, outcome: Outcome[Any] | None, message: str = "") -> Response:
    accounts = list_users(core, user, ListUsersRequest()).users
    return render(
        request,
        "admin_users.html",
        user=user,
        status_code=outcome.status_code if outcome is not None and not outcome.ok else 200,
        accounts=accounts,
        roles=ROLES,
        error=outcome.error if outcome is not None else None,
        message=message if outcome is None or outcome.ok else "",
    )


@pages.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, user: UserInfo = Depends(require("users:manage")), core: OpenILP = Depends(get_core)
) -> Response:
    """The agency's accounts, a form to create one, and the actions on each."""
    return _page(request, core, user, None)


@pages.post("/admin/users", response_class=HTMLResponse)
def create_user_form(
    request: Request,
    username: str = Form("", max_length=200),
    full_name: str = Form("", max_length=400),
    role: str = Form("analyst", max_length=40),
    password: str = Form("", max_length=2000),
    csrf_token: str = Form(""),
    user: UserInfo = Depends(require("users:manage")),
    core: OpenILP = Depends(get_core),
) -> Response:
    """Create an account of the administrator's agency."""
    check_csrf(request, csrf_token)
    wanted = CreateUserRequest(username, password, role, user.agency_code, full_name)
    outcome = attempt(lambda: create_user(core, user, wanted))
    created = outcome.value.user.username if outcome.value is not None else ""
    return _page(request, core, user, outcome, f"Account {created} created.")


def _training_day(text: str) -> dt.date | None:
    text = text.strip()
    if not text or text.lower() == "none":
        return None
    return parse_day(text, "valid_until")


@pages.post("/admin/users/{username}", response_class=HTMLResponse)
def account_action(
    request: Request,
    username: str,
    action: str = Form("", max_length=40),
    role: str = Form("", max_length=40),
    valid_until: str = Form("", max_length=40),
    reason: str = Form("", max_length=600),
    csrf_token: str = Form(""),
    user: UserInfo = Depends(require("users:manage")),
    core: OpenILP = Depends(get_core),
) -> Response:
    """One action on one account of the administrator's agency (see :data:`ACTIONS`)."""
    check_csrf(request, csrf_token)
    calls: dict[str, tuple[Callable[[], Any], str]] = {
        "role": (
            lambda: update_user(core, user, UpdateUserRequest(username, role=role)),
            f"{username}: role is now {role}.",
        ),
        "activate": (
            lambda: update_user(core, user, UpdateUserRequest(username, is_active=True)),
            f"{username} activated.",
        ),
        "deactivate": (
            lambda: update_user(core, user, UpdateUserRequest(username, is_active=False)),
            f"{username} deactivated; their sessions ended.",
        ),
        "training": (
            lambda: set_training(core, user, SetTrainingRequest(username, _training_day(valid_until))),
            f"{username}: reviewer training recorded.",
        ),
        "revoke_sessions": (
            lambda: revoke_sessions(core, user, RevokeSessionsRequest(username, reason)),
            f"Every session of {username} ended.",
        ),
        "totp_reset": (
            lambda: reset_totp(core, user, TotpResetRequest(username)),
            f"{username}'s authenticator reset: they enrol again at their next sign-in.",
        ),
    }
    if action not in calls:
        outcome: Outcome[Any] = Outcome(error=f"action must be one of {', '.join(ACTIONS)}", status_code=400)
        return _page(request, core, user, outcome)
    call, message = calls[action]
    return _page(request, core, user, attempt(call), message)

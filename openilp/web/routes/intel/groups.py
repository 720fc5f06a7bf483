"""Sharing groups: the JSON API under ``/api/v1/intel/groups`` and the administrator's page ``/intel/groups``.

Thin adapters over :mod:`openilp.services.intel.groups`. Administrators and supervisors
(``intel:settings``) create groups and change their members; anyone who may release intelligence
(``intel:disseminate``) may list the groups their agency owns or belongs to, to address a release.
A refused form is shown again with the field at fault named (status 400) and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from openilp.core import OpenILP
from openilp.security.actors import UserInfo
from openilp.services.intel.groups import (
    GroupRequest,
    MembersRequest,
    change_members,
    create_group,
    list_groups,
    show_group,
)
from openilp.services.intel.options import partner_agencies
from openilp.web.actions import attempt
from openilp.web.auth import current_user, require
from openilp.web.context import get_core
from openilp.web.csrf import check_csrf
from openilp.web.params import Id
from openilp.web.rendering import render

__all__ = ["api", "pages"]

api = APIRouter(prefix="/api/v1", tags=["intelligence administration"])
pages = APIRouter(include_in_schema=False)

_ADMIN = require("intel:settings")
_USER = Depends(current_user)
_CORE = Depends(get_core)
_FIELDS = frozenset({"name", "description", "members"})


class GroupIn(BaseModel):
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=2000)
    members: list[str] = Field(default_factory=list, max_length=500)


class MembersIn(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=500)
    remove: list[str] = Field(default_factory=list, max_length=500)


@api.get("/intel/groups")
def api_groups(user: UserInfo = _USER, core: OpenILP = _CORE) -> dict[str, Any]:
    """The sharing groups your agency owns or belongs to, with their member agencies."""
    return list_groups(core, user).as_dict()


@api.post("/intel/groups", status_code=201)
def api_create_group(payload: GroupIn, user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE) -> dict[str, Any]:
    """Create a sharing group owned by your agency (audited); 400 names the field at fault."""
    return create_group(core, user, GroupRequest(payload.name, payload.description, payload.members)).as_dict()


@api.get("/intel/groups/{group_id}")
def api_group(group_id: Id, user: UserInfo = _USER, core: OpenILP = _CORE) -> dict[str, Any]:
    """One group your agency owns or belongs to (404 otherwise)."""
    return show_group(core, user, group_id).as_dict()


@api.post("/intel/groups/{group_id}/members")
def api_change_members(
    group_id: Id, payload: MembersIn, user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE
) -> dict[str, Any]:
    """Add and remove member agencies of a group your agency owns (audited)."""
    return change_members(core, user, MembersRequest(group_id, payload.add, payload.remove)).as_dict()


def _page(
    request: Request,
    core: OpenILP,
    user: UserInfo,
    *,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    return render(
        request,
        "intel/groups.html",
        user=user,
        status_code=400 if error else 200,
        groups=list_groups(core, user).as_dict()["groups"],
        partners=list(partner_agencies(core, user).agencies),
        error=error,
        field_errors=field_errors or {},
        form=form or {},
        done=done[:20],
    )


@pages.get("/intel/groups", response_class=HTMLResponse)
def groups_page(request: Request, done: str = "", user: UserInfo = Depends(_ADMIN), core: OpenILP = _CORE) -> Response:
    """The agency's sharing groups, a form to create one and forms to change members."""
    return _page(request, core, user, done=done)


@pages.post("/intel/groups", response_class=HTMLResponse)
def create_group_page(
    request: Request,
    csrf_token: str = Form(""),
    name: str = Form("", max_length=1000),
    description: str = Form("", max_length=4000),
    members: list[str] = Form(default_factory=list, max_length=500),
    user: UserInfo = Depends(_ADMIN),
    core: OpenILP = _CORE,
) -> Response:
    """Create a group from the page's form (members ticked in the list of agencies)."""
    check_csrf(request, csrf_token)
    asked = GroupRequest(name, description, members)
    outcome = attempt(lambda: create_group(core, user, asked))
    if outcome.ok:
        return RedirectResponse("/intel/groups?done=group created", status_code=303)
    # Every bad field at once, each next to its control; otherwise the one field the service named.
    field_errors = asked.field_errors() if outcome.status_code == 400 else {}
    if not field_errors and outcome.field in _FIELDS and outcome.error:
        field_errors = {outcome.field: outcome.error.removeprefix(f"{outcome.field}: ")}
    return _page(
        request,
        core,
        user,
        error=outcome.error,
        field_errors=field_errors,
        form={"name": name, "description": description, **dict.fromkeys(members, "on")},
    )


@pages.post("/intel/groups/{group_id}/members", response_class=HTMLResponse)
def change_members_page(
    request: Request,
    group_id: Id,
    csrf_token: str = Form(""),
    add: str = Form("", max_length=32),
    remove: str = Form("", max_length=32),
    user: UserInfo = Depends(_ADMIN),
    core: OpenILP = _CORE,
) -> Response:
    """Add one agency to, or remove one from, a group from the page."""
    check_csrf(request, csrf_token)
    changes = MembersRequest(group_id, [add] if add else [], [remove] if remove else [])
    outcome = attempt(lambda: change_members(core, user, changes))
    if outcome.ok:
        return RedirectResponse("/intel/groups?done=members changed", status_code=303)
    return _page(request, core, user, error=outcome.error)

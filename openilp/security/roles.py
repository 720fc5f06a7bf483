"""Roles and the permissions each one grants.

Eight roles (the ``users.role`` column). A permission is a ``"resource:action"`` string; the
table below is the single place that says who may do what, and the web app checks it on every
request. Partners (other organisations) get no access to internal records by default: sharing
with them goes through explicit dissemination, not through a role.

>>> has_permission("analyst", "incidents:read")
True
>>> has_permission("analyst", "users:manage")
False
>>> "users:manage" in permissions_for("administrator")
True
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role", "ROLES", "INTERNAL_ROLES", "PERMISSIONS", "has_permission", "permissions_for"]


class Role(StrEnum):
    """The role a user holds; stored by value in ``users.role``."""

    ANALYST = "analyst"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"
    PARTNER = "partner"
    WATCH_OFFICER = "watch_officer"


#: Every role name, in the order shown to administrators.
ROLES: tuple[str, ...] = tuple(role.value for role in Role)

#: Roles held by staff of the owning agency (everyone except partners).
INTERNAL_ROLES: frozenset[str] = frozenset(ROLES) - {Role.PARTNER.value}

#: Roles of sworn or analytic law-enforcement staff (need-to-know and right-to-know, 23.20(e)).
_LAW_ENFORCEMENT: frozenset[str] = frozenset(
    {Role.ANALYST.value, Role.OFFICER.value, Role.SUPERVISOR.value, Role.REVIEWER.value}
)

#: Permission -> the roles that hold it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "incidents:read": INTERNAL_ROLES,
    # Exports of the agency's data in exchange formats (NIBRS XML, GeoPackage, STIX).
    "exchange:export": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value, Role.ADMINISTRATOR.value}),
    "categories:read": frozenset(ROLES),
    "boundaries:read": frozenset(ROLES),
    # Crime analysis (hot spots, near repeats, trends) over the agency's incidents: internal staff.
    "analysis:read": INTERNAL_ROLES,
    "audit:read": frozenset({Role.AUDITOR.value, Role.ADMINISTRATOR.value}),
    "users:manage": frozenset({Role.ADMINISTRATOR.value}),
    # Criminal intelligence (28 CFR Part 23): law-enforcement roles only; see openilp.services.intel_*.
    "intel:submit": _LAW_ENFORCEMENT,
    "intel:search": _LAW_ENFORCEMENT,
    "intel:read": _LAW_ENFORCEMENT | {Role.PARTNER.value},
    "intel:review": frozenset({Role.SUPERVISOR.value, Role.REVIEWER.value}),
    "intel:disseminate": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value, Role.REVIEWER.value}),
    # Imminent-danger release of an assessment to anyone (28 CFR 23.20(f)(2)): supervisors and reviewers.
    "intel:emergency_release": frozenset({Role.SUPERVISOR.value, Role.REVIEWER.value}),
    "intel:received": _LAW_ENFORCEMENT | {Role.PARTNER.value},
    "intel:compliance": frozenset({Role.AUDITOR.value, Role.ADMINISTRATOR.value, Role.SUPERVISOR.value}),
    "intel:settings": frozenset({Role.ADMINISTRATOR.value, Role.SUPERVISOR.value}),
    "tips:triage": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value, Role.REVIEWER.value}),
    "tips:rewards": frozenset({Role.SUPERVISOR.value, Role.ADMINISTRATOR.value}),
    # Unlock a reward locked after too many wrong payout codes: administrators only (not the payer).
    "tips:unlock": frozenset({Role.ADMINISTRATOR.value}),
    "notifications:read": frozenset(ROLES),
    # Problem-oriented policing (SARA): every internal role reads problems; analysts and supervisors work them.
    "problems:read": INTERNAL_ROLES,
    "problems:write": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value, Role.ADMINISTRATOR.value}),
    # Deployment lists (openilp.services.analysis.tasking): analysts and supervisors (the shift's commanders) plan
    # them; patrol officers open the printable list of a plan issued to them (a signed link), read-only.
    "tasking:plan": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value}),
    "tasking:read": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value, Role.OFFICER.value}),
    # Civil-rights gates (openilp.services.analysis.gates): a supervisor's recorded override issues a plan
    # held for parity, and a supervisor's written justification releases a model whose scores leak a majority.
    "tasking:override": frozenset({Role.SUPERVISOR.value}),
    # Crime series (openilp.services.series): law-enforcement staff read them; analysts and supervisors
    # save them; supervisors and reviewers confirm or reject a saved series.
    "series:read": _LAW_ENFORCEMENT,
    "series:write": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value}),
    "series:review": frozenset({Role.SUPERVISOR.value, Role.REVIEWER.value}),
    # Networks and link charts (openilp.services.networks): whoever may read intelligence; each viewer
    # sees only the nodes and links of records they may read (28 CFR Part 23).
    "networks:read": _LAW_ENFORCEMENT | {Role.PARTNER.value},
    # Gang / enterprise designations (openilp.services.networks.designations): law-enforcement staff read
    # them; supervisors and reviewers make and review them, on documented criteria only.
    "designations:read": _LAW_ENFORCEMENT,
    "designations:write": frozenset({Role.SUPERVISOR.value, Role.REVIEWER.value}),
    # Entities (openilp.services.entities): law-enforcement staff search and read them, each mention only
    # when they may see its source record; analysts and supervisors import and resolve; analysts,
    # supervisors and reviewers decide review pairs (merges and splits).
    "entities:read": _LAW_ENFORCEMENT,
    "entities:write": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value}),
    "entities:review": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value, Role.REVIEWER.value}),
    # Officer-safety deconfliction (openilp.services.deconfliction): the staff who plan operations submit,
    # list, cancel and end their agency's events; partners never see anyone's operations.
    # Intelligence products (bulletins, CompStat packs): made and sent by analysts and supervisors,
    # read by law-enforcement staff of the agency.
    "products:produce": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value}),
    "products:send": frozenset({Role.ANALYST.value, Role.SUPERVISOR.value}),
    "products:read": _LAW_ENFORCEMENT,
    "deconfliction:submit": frozenset({Role.OFFICER.value, Role.ANALYST.value, Role.SUPERVISOR.value}),
    # The watch centre (openilp.services.deconfliction.watch): watch officers see every agency's conflicts
    # (agency, contact, type and window of each side; never the operation's name, place or targets),
    # acknowledge them and record how each was resolved.
    "deconfliction:watch": frozenset({Role.WATCH_OFFICER.value}),
    # An exigency waiver lets a team proceed before the watch centre has resolved its conflict: supervisors.
    "deconfliction:waive": frozenset({Role.SUPERVISOR.value}),
}


def has_permission(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission``.

    Raises
    ------
    KeyError
        If ``permission`` is not in :data:`PERMISSIONS` (a typo must not silently deny or grant).
    """
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}; known: {', '.join(sorted(PERMISSIONS))}")
    return role in PERMISSIONS[permission]


def permissions_for(role: str) -> frozenset[str]:
    """Every permission ``role`` holds (empty for an unknown role)."""
    return frozenset(name for name, roles in PERMISSIONS.items() if role in roles)

"""Agencies: creating one (``openilp agencies create``), listing them, and the default agency.

An agency is usually created by its first import (the source description names it). An agency
that has no data yet (a partner receiving intelligence, a second police department whose users
come before their data) is created here. Every creation is audited.

The **default agency** of a command-line analysis is, in order: the ``--agency`` given, the
acting user's agency (``--as``), the ``default_agency`` setting, and the only agency in the store;
with several agencies and none of these the command asks for ``--agency`` and lists the codes
(:func:`resolve_agency`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from openilp.core import OpenILP, Request, Result
from openilp.db.models import Agency, ImportFile, User
from openilp.errors import Conflict, InvalidRequest, NotFound, NotPermitted
from openilp.security.actors import UserInfo
from openilp.services.accounts.records import agency_by_code, check_agency_fields

__all__ = [
    "AgencyInfo",
    "AgencyList",
    "CreateAgencyRequest",
    "ListAgenciesRequest",
    "ResolveAgencyRequest",
    "create_agency",
    "list_agencies",
    "resolve_agency",
]


@dataclass(frozen=True)
class AgencyInfo(Result):
    """One agency: code, name, IANA time zone, analysis CRS, and how many users and import files it has."""

    id: int
    code: str
    name: str
    timezone: str
    crs: str
    users: int = 0
    import_files: int = 0


@dataclass(frozen=True)
class AgencyList(Result):
    agencies: tuple[AgencyInfo, ...]


@dataclass(frozen=True)
class CreateAgencyRequest(Request):
    """A new agency. ``crs`` is a projected CRS in metres (analysis coordinates), e.g. ``EPSG:26915``."""

    code: str = ""
    name: str = ""
    timezone: str = "UTC"
    crs: str = "EPSG:3857"

    def validate(self) -> CreateAgencyRequest:
        code = check_agency_fields(self.code, self.timezone)
        name = self.name.strip()
        if not name or len(name) > 200:
            raise InvalidRequest("name: give the agency's name (1–200 characters)")
        crs = self.crs.strip()
        if not crs or len(crs) > 64 or ":" not in crs:
            raise InvalidRequest(f"crs: give a projected CRS in metres such as EPSG:26915, got {self.crs!r}")
        return CreateAgencyRequest(code=code, name=name, timezone=self.timezone, crs=crs)


@dataclass(frozen=True)
class ListAgenciesRequest(Request):
    pass


@dataclass(frozen=True)
class ResolveAgencyRequest(Request):
    """Which agency an analysis is about: ``code`` if given, else the defaults (module docstring)."""

    code: str | None = None


def _info(agency: Agency, users: int = 0, files: int = 0) -> AgencyInfo:
    return AgencyInfo(agency.id, agency.code, agency.name, agency.timezone, agency.crs, users, files)


def create_agency(core: OpenILP, actor: UserInfo | None, request: CreateAgencyRequest) -> AgencyInfo:
    """Create an agency; :class:`Conflict` when the code exists. Audited as ``create`` of ``agency``.

    Only the command line (``actor=None``) creates agencies: an agency is a deployment decision.
    """
    request = request.validate()
    if actor is not None:
        raise NotPermitted("agencies are created on the command line: openilp agencies create")
    with core.unit_of_work(actor) as uow:
        if agency_by_code(uow.session, request.code) is not None:
            raise Conflict(f"agency {request.code!r} already exists")
        agency = Agency(code=request.code, name=request.name, timezone=request.timezone, crs=request.crs)
        uow.session.add(agency)
        uow.session.flush()
        uow.audit(
            action="create",
            object_type="agency",
            object_id=agency.code,
            agency_id=agency.id,
            details={"name": agency.name, "timezone": agency.timezone, "crs": agency.crs},
        )
        return _info(agency)


def list_agencies(core: OpenILP, actor: UserInfo | None, request: ListAgenciesRequest | None = None) -> AgencyList:
    """Every agency (the command line), or the actor's own one; with user and import-file counts."""
    (request or ListAgenciesRequest()).validate()
    with core.unit_of_work(actor) as uow:
        users = dict(uow.session.execute(select(User.agency_id, func.count()).group_by(User.agency_id)).all())
        files = dict(
            uow.session.execute(select(ImportFile.agency_id, func.count()).group_by(ImportFile.agency_id)).all()
        )
        query = select(Agency).order_by(Agency.code)
        if actor is not None:
            query = query.where(Agency.id == actor.agency_id)
        agencies = uow.session.scalars(query).all()
        return AgencyList(tuple(_info(a, int(users.get(a.id, 0)), int(files.get(a.id, 0))) for a in agencies))


def resolve_agency(core: OpenILP, actor: UserInfo | None, request: ResolveAgencyRequest) -> AgencyInfo:
    """The agency an analysis is about (see the module docstring for the order of the defaults).

    Raises :class:`NotFound` for an unknown code, :class:`InvalidRequest` when several agencies
    exist and nothing says which one, :class:`NotPermitted` when a signed-in actor names another
    agency than their own.
    """
    request = request.validate()
    with core.unit_of_work(actor) as uow:
        code = (request.code or "").strip()
        if not code and actor is not None:
            code = actor.agency_code
        if not code and core.settings.default_agency:
            code = core.settings.default_agency
        if code:
            agency = agency_by_code(uow.session, code)
            if agency is None:
                known = ", ".join(uow.session.scalars(select(Agency.code).order_by(Agency.code)).all()) or "none"
                raise NotFound(f"unknown agency {code!r} (known: {known})")
            if actor is not None and agency.id != actor.agency_id:
                raise NotPermitted(f"{actor.username} belongs to {actor.agency_code}, not {agency.code}")
            return _info(agency)
        agencies = uow.session.scalars(select(Agency).order_by(Agency.code)).all()
        if len(agencies) == 1:
            return _info(agencies[0])
        if not agencies:
            raise NotFound("the store holds no agency yet: import data first (openilp import SOURCE FILES)")
        codes = ", ".join(a.code for a in agencies)
        raise InvalidRequest(
            f"agency: the store holds several agencies ({codes}); give --agency CODE, or set default_agency "
            "(OPENILP_DEFAULT_AGENCY)"
        )

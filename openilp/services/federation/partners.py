"""The partner registry and this instance's key: who may call, and how this instance signs.

An administrator registers each partner instance once: its short name, base URL, Ed25519 public
key (printed by ``openilp federation keygen`` on the partner), the agencies it holds, the sharing
groups it belongs to and the signed agreement on file. Removing a partner keeps its row (the audit
log and past shares refer to it) but stops every call to and from it at once. Each change is
audited.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Request, Result
from openilp.db.federation_models import FederationPartner
from openilp.errors import InvalidRequest
from openilp.security.actors import UserInfo
from openilp.security.federation import (
    generate_private_key,
    key_file_path,
    key_id_of,
    load_private_key,
    load_public_key,
    public_key_text,
    write_private_key,
)

__all__ = [
    "FederationError",
    "PartnerRequest",
    "PartnerInfo",
    "InstanceKey",
    "instance_key_path",
    "instance_name",
    "generate_instance_key",
    "read_instance_key",
    "add_partner",
    "list_partners",
    "remove_partner",
    "active_partners",
    "partner_info",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class FederationError(InvalidRequest):
    """A partner request that cannot be carried out (a bad URL or key, an unknown partner)."""


@dataclass(frozen=True)
class PartnerRequest(Request):
    """A partner instance to register."""

    name: str
    base_url: str
    public_key: str
    agency_codes: tuple[str, ...] = ()
    sharing_groups: tuple[str, ...] = ()
    agreement_reference: str = ""

    def validate(self) -> PartnerRequest:
        name = self.name.strip().lower()
        if not _NAME.match(name):
            raise FederationError("the partner's name is 1-80 lower-case letters, digits, '.', '_' or '-'")
        url = self.base_url.strip().rstrip("/")
        if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", url) or len(url) > 300:
            raise FederationError("the base URL must be http(s)://host[:port][/path], without query or fragment")
        try:
            load_public_key(self.public_key)
        except ValueError as exc:
            raise FederationError(f"the public key is not an Ed25519 key: {exc}") from exc
        codes = tuple(dict.fromkeys(c.strip() for c in self.agency_codes if c.strip()))
        if not codes or any(not _CODE.match(c) for c in codes):
            raise FederationError("name at least one agency code the partner holds (letters, digits, '_' or '-')")
        groups = tuple(dict.fromkeys(g.strip() for g in self.sharing_groups if g.strip()))
        if any("," in g or len(g) > 80 for g in groups):
            raise FederationError("a sharing group's name has no comma and at most 80 characters")
        agreement = " ".join(self.agreement_reference.split())
        if not agreement:
            raise FederationError("name the signed sharing agreement on file with this partner (--agreement)")
        return dataclasses.replace(
            self,
            name=name,
            base_url=url,
            public_key=self.public_key.strip(),
            agency_codes=codes,
            sharing_groups=groups,
            agreement_reference=agreement[:200],
        )


@dataclass(frozen=True)
class PartnerInfo(Result):
    """A registered partner as shown to administrators."""

    id: int
    name: str
    base_url: str
    key_id: str
    public_key: str
    agency_codes: tuple[str, ...]
    sharing_groups: tuple[str, ...]
    agreement_reference: str
    active: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base_url": self.base_url,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "agency_codes": list(self.agency_codes),
            "sharing_groups": list(self.sharing_groups),
            "agreement_reference": self.agreement_reference,
            "active": self.active,
        }


@dataclass(frozen=True)
class InstanceKey(Result):
    """This instance's public key and key id (the private key stays in its file)."""

    path: str
    public_key: str
    key_id: str
    created: bool = False
    partners: Sequence[str] = field(default_factory=tuple)


def partner_info(row: FederationPartner) -> PartnerInfo:
    def split(text: str) -> tuple[str, ...]:
        return tuple(part for part in text.split(",") if part)

    return PartnerInfo(
        id=row.id,
        name=row.name,
        base_url=row.base_url,
        key_id=row.key_id,
        public_key=row.public_key,
        agency_codes=split(row.agency_codes),
        sharing_groups=split(row.sharing_groups),
        agreement_reference=row.agreement_reference,
        active=row.active,
    )


def instance_key_path(core: OpenILP) -> Path:
    """The file of this instance's private key (``federation_key_file`` or the data folder's)."""
    return key_file_path(core.settings.data_dir, core.settings.federation_key_file)


def instance_name(core: OpenILP) -> str:
    """How this instance names itself to partners."""
    return core.settings.federation_name.strip() or "OpenILP"


def generate_instance_key(core: OpenILP, *, replace: bool = False) -> InstanceKey:
    """Write a new Ed25519 key pair (private key mode 0600); refuse to replace one unless ``replace``.

    Audited (``federation_keygen``) with the new key id: partners must register the new public key.
    """
    path = instance_key_path(core)
    if path.exists() and not replace:
        raise FederationError(
            f"a federation key already exists at {path}; partners know its public key. "
            "Pass --replace to make a new one (then every partner must register the new key)."
        )
    key = generate_private_key()
    write_private_key(key, path, replace=replace)
    public = public_key_text(key)
    with core.unit_of_work(None) as uow:
        uow.audit(action="federation_keygen", object_type="federation_key", object_id=key_id_of(public), details={})
    return InstanceKey(str(path), public, key_id_of(public), created=True)


def read_instance_key(core: OpenILP) -> InstanceKey:
    """This instance's public key and key id, read from its private key file."""
    path = instance_key_path(core)
    try:
        public = public_key_text(load_private_key(path))
    except (FileNotFoundError, ValueError) as exc:
        raise FederationError(str(exc)) from exc
    return InstanceKey(str(path), public, key_id_of(public))


def _require_admin(actor: UserInfo | None) -> None:
    if actor is not None and actor.role != "administrator":
        raise FederationError("only an administrator manages federation partners")


def add_partner(core: OpenILP, actor: UserInfo | None, request: PartnerRequest) -> PartnerInfo:
    """Register (or re-activate with new details) a partner instance; audited ``federation_partner_add``."""
    _require_admin(actor)
    request = request.validate()
    key_id = key_id_of(request.public_key)
    with core.unit_of_work(actor) as uow:
        session = uow.session
        row = session.scalar(select(FederationPartner).where(FederationPartner.name == request.name))
        clash = session.scalar(select(FederationPartner).where(FederationPartner.key_id == key_id))
        if clash is not None and (row is None or clash.id != row.id):
            raise FederationError(f"partner {clash.name!r} already signs with this key")
        if row is None:
            row = FederationPartner(name=request.name, created_at=uow.now)
            session.add(row)
        row.base_url = request.base_url
        row.public_key = request.public_key
        row.key_id = key_id
        row.agency_codes = ",".join(request.agency_codes)
        row.sharing_groups = ",".join(request.sharing_groups)
        row.agreement_reference = request.agreement_reference
        row.active = True
        row.removed_at = None
        session.flush()
        uow.audit(
            action="federation_partner_add",
            object_type="federation_partner",
            object_id=row.id,
            details={"partner": row.name, "key_id": key_id, "base_url": row.base_url, **_listed(request)},
        )
        return partner_info(row)


def _listed(request: PartnerRequest) -> dict[str, object]:
    return {
        "agency_codes": list(request.agency_codes),
        "sharing_groups": list(request.sharing_groups),
        "agreement": request.agreement_reference,
    }


def list_partners(core: OpenILP, actor: UserInfo | None, *, include_removed: bool = False) -> tuple[PartnerInfo, ...]:
    """The registered partners, by name (active ones only unless ``include_removed``)."""
    _require_admin(actor)
    with core.unit_of_work(actor) as uow:
        query = select(FederationPartner).order_by(FederationPartner.name)
        if not include_removed:
            query = query.where(FederationPartner.active.is_(True))
        return tuple(partner_info(row) for row in uow.session.scalars(query))


def remove_partner(core: OpenILP, actor: UserInfo | None, name: str) -> PartnerInfo:
    """Stop every call to and from a partner (its row stays for the log); audited ``federation_partner_remove``."""
    _require_admin(actor)
    with core.unit_of_work(actor) as uow:
        row = uow.session.scalar(select(FederationPartner).where(FederationPartner.name == name.strip().lower()))
        if row is None or not row.active:
            raise FederationError(f"no active partner named {name!r}")
        row.active = False
        row.removed_at = uow.now
        uow.audit(
            action="federation_partner_remove",
            object_type="federation_partner",
            object_id=row.id,
            details={"partner": row.name, "key_id": row.key_id},
        )
        return partner_info(row)


def active_partners(session: Session) -> list[FederationPartner]:
    """Every active partner, by name."""
    return list(
        session.scalars(
            select(FederationPartner).where(FederationPartner.active.is_(True)).order_by(FederationPartner.name)
        )
    )

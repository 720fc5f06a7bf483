"""The workflow every product shares: build → screen → mark → render → store a version → audit.

A product kind supplies a :class:`BuiltProduct`: its title, the parameters it was built from, the
items it holds (each with its handling, :class:`openilp.products.ContentItem`), the numbers it
shows (``content``, hashed so two versions can be compared) and the template context.
:func:`produce` screens out restricted items (or refuses), marks the product with its most
restrictive item, renders HTML and PDF, stores the version with the data cut-off and writes the
audit entry. :func:`rerender` builds a stored version's parameters again and says whether the
numbers changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openilp.core import OpenILP, Result
from openilp.db.models import Agency, ImportFile
from openilp.db.product_models import Product
from openilp.errors import InvalidRequest, NotFound, NotPermitted, ServiceError
from openilp.products import ContentItem, Marking, RestrictedContent, most_restrictive, screen_items
from openilp.products.figures import Basemap, Figure
from openilp.products.render import badge_data_uri, html_to_pdf, render_html
from openilp.security.actors import UserInfo
from openilp.security.roles import has_permission
from openilp.services.analysis.common import reader_agency

__all__ = [
    "PRODUCT_KINDS",
    "BuiltProduct",
    "ProducedProduct",
    "ProductNotFound",
    "ProductRefused",
    "Rerendered",
    "boundary_layer",
    "data_cutoff",
    "load_product",
    "produce",
    "product_basemap",
    "producer_agency",
    "register_builder",
    "rerender",
]

#: Product kind → its name on the page.
PRODUCT_KINDS: dict[str, str] = {
    "compstat": "Weekly CompStat pack",
    "bulletin": "Tactical bulletin",
    "safety_alert": "Officer-safety alert",
    "problem_profile": "Problem profile (SARA)",
    "strategic": "Strategic assessment",
}
#: Kind → function that builds that kind again from stored parameters (filled by each product module).
_BUILDERS: dict[str, Callable[[OpenILP, UserInfo | None, Mapping[str, Any]], BuiltProduct]] = {}


def boundary_layer(core: OpenILP, agency_code: str) -> dict[str, Any] | None:
    """The agency's boundary layer as GeoJSON (a FeatureCollection), or None when it has none."""
    layer = core.boundaries.layer_for(agency_code)
    if layer is None:
        return None
    data: dict[str, Any] = json.loads(layer.path.read_text(encoding="utf-8"))
    return data


#: Seconds one map tile may take to arrive before the product's maps fall back to the boundaries.
TILE_TIMEOUT_S = 10.0


def _tile_url(template: str, z: int, x: int, y: int) -> str:
    """The URL of tile ``z/x/y`` of an XYZ template (``{s}`` is the first sub-domain, ``a``).

    >>> _tile_url("https://{s}.tiles.example.org/{z}/{x}/{y}.png", 14, 3, 5)
    'https://a.tiles.example.org/14/3/5.png'
    """
    return template.replace("{s}", "a").replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def product_basemap(core: OpenILP) -> Basemap | None:
    """The tiles of the setting ``tile_url`` for the products' maps, or None when it is empty (nothing fetched).

    Each tile is fetched over HTTP(S) with a timeout of :data:`TILE_TIMEOUT_S`; a failure is not
    raised to the product: the map is drawn from the boundaries only and the product's note says why
    (:func:`openilp.products.figures.incident_map`).
    """
    template = core.settings.tile_url.strip()
    if not template:
        return None
    from urllib.parse import urlsplit
    from urllib.request import Request as UrlRequest
    from urllib.request import urlopen

    source = urlsplit(template.replace("{s}", "a")).netloc or template[:60]

    def fetch(z: int, x: int, y: int) -> bytes:
        url = _tile_url(template, z, x, y)
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("tile_url must be an http(s) URL template")
        with urlopen(UrlRequest(url, headers={"User-Agent": "OpenILP products"}), timeout=TILE_TIMEOUT_S) as answer:
            data: bytes = answer.read(4 * 1024 * 1024)
        return data

    return Basemap(fetch=fetch, source=source, attribution=core.settings.tile_attribution.strip())


def _basemap_notes(context: Mapping[str, Any]) -> list[str]:
    """The base-map notes of the figures in a product's context, each once, in order."""
    notes: list[str] = []
    for value in context.values():
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, Figure) and item.note and item.note not in notes:
                notes.append(item.note)
    return notes


class ProductRefused(ServiceError):
    """The product would include restricted items and the request said to refuse (names them)."""


class ProductNotFound(NotFound):
    """No such product in the actor's agency."""


@dataclass(frozen=True)
class BuiltProduct:
    """What a product kind hands to :func:`produce`."""

    kind: str
    agency_code: str
    title: str
    short_title: str
    subtitle: str
    template: str
    #: The request as JSON-ready values: stored, and enough to build the product again.
    parameters: dict[str, Any]
    items: tuple[ContentItem, ...]
    #: The numbers the product shows (JSON-ready); hashed to compare versions.
    content: dict[str, Any]
    #: Everything else the template needs (figures, rows, labels).
    context: dict[str, Any] = field(default_factory=dict)
    contact: str = ""


@dataclass(frozen=True)
class ProducedProduct(Result):
    """A stored product version, with its rendered PDF and HTML."""

    product_id: int
    kind: str
    title: str
    version: int
    agency_code: str
    data_cutoff: dt.datetime | None
    marking: Marking
    items: tuple[str, ...]
    withheld: tuple[str, ...]
    content: dict[str, Any]
    content_sha256: str
    pdf: bytes = field(repr=False)
    html: str = field(repr=False)
    pdf_pages: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "kind": self.kind,
            "title": self.title,
            "version": self.version,
            "agency_code": self.agency_code,
            "data_cutoff": None if self.data_cutoff is None else self.data_cutoff.isoformat(),
            "marking": self.marking.as_dict(),
            "items": list(self.items),
            "withheld": list(self.withheld),
            "content_sha256": self.content_sha256,
            "pdf_pages": self.pdf_pages,
            "pdf_bytes": len(self.pdf),
        }


def register_builder(kind: str, builder: Callable[[OpenILP, UserInfo | None, Mapping[str, Any]], BuiltProduct]) -> None:
    """Make ``kind`` re-renderable: ``builder(core, actor, parameters)`` builds it again."""
    _BUILDERS[kind] = builder


def producer_agency(core: OpenILP, actor: UserInfo | None, agency_code: str) -> str:
    """The agency a product is made for: the actor's own (who needs ``products:produce``), or the code given."""
    return reader_agency(core, actor, agency_code, "products:produce")


def data_cutoff(session: Session, agency_id: int) -> dt.datetime | None:
    """The newest import of the agency's data (what the store knew when the product was built)."""
    value = session.scalar(select(func.max(ImportFile.imported_at)).where(ImportFile.agency_id == agency_id))
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)


def _sha256(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _agency(session: Session, code: str) -> Agency:
    agency = session.scalars(select(Agency).where(Agency.code == code)).one_or_none()
    if agency is None:
        raise InvalidRequest(f"unknown agency {code!r}")
    return agency


def _actor_label(actor: UserInfo | None) -> str:
    if actor is None:
        return "OpenILP (command line or schedule)"
    return actor.full_name or actor.username


def produce(
    core: OpenILP, actor: UserInfo | None, built: BuiltProduct, *, on_restricted: str = "redact"
) -> ProducedProduct:
    """Screen, mark, render and store one new version of ``built``; audited as ``produce``.

    Raises :class:`ProductRefused` (audited) when ``on_restricted`` is ``"refuse"`` and the product
    would hold restricted items.
    """
    if on_restricted not in ("redact", "refuse"):
        raise InvalidRequest(f"on_restricted must be redact or refuse, got {on_restricted!r}")
    with core.unit_of_work(actor) as uow:
        session = uow.session
        agency = _agency(session, built.agency_code)
        try:
            kept, withheld = screen_items(built.items, on_restricted=on_restricted)
        except RestrictedContent as exc:
            raise uow.refuse(
                ProductRefused(str(exc)),
                action="produce_refused",
                object_type="product",
                details={"kind": built.kind, "restricted": list(exc.labels)},
                agency_id=agency.id,
            ) from None
        marking = most_restrictive(kept)
        parameters_key = _sha256({"kind": built.kind, **built.parameters})
        previous = session.scalar(
            select(func.max(Product.version)).where(
                Product.agency_id == agency.id, Product.kind == built.kind, Product.parameters_key == parameters_key
            )
        )
        version = int(previous or 0) + 1
        cutoff = data_cutoff(session, agency.id)
        content_sha = _sha256(built.content)
        row = Product(
            agency_id=agency.id,
            kind=built.kind,
            title=built.title[:300],
            parameters=json.dumps(built.parameters, sort_keys=True, default=str),
            parameters_key=parameters_key,
            version=version,
            data_cutoff=cutoff,
            tlp=marking.tlp,
            handling_code=marking.handling_code,
            marking=json.dumps(marking.as_dict(), sort_keys=True),
            items=json.dumps([{"label": i.label, "tlp": i.tlp} for i in kept]),
            withheld=json.dumps(list(withheld)),
            content=json.dumps(built.content, sort_keys=True, default=str),
            content_sha256=content_sha,
            html="",
            produced_by_id=None if actor is None else actor.id,
            produced_at=uow.now,
        )
        session.add(row)
        session.flush()
        template_dir = core.settings.products_template_dir or None
        context = {
            **built.context,
            "language": "en",
            "title": built.title,
            "short_title": built.short_title,
            "subtitle": built.subtitle,
            "kind_label": PRODUCT_KINDS.get(built.kind, built.kind),
            "agency_name": agency.name,
            "badge": badge_data_uri(template_dir),
            "marking": marking,
            "withheld": list(withheld),
            "product_number": row.id,
            "version": version,
            "data_cutoff": "no import yet" if cutoff is None else cutoff.strftime("%Y-%m-%d %H:%M UTC"),
            "produced_at": uow.now.strftime("%Y-%m-%d %H:%M UTC"),
            "produced_by": _actor_label(actor),
            "contact": built.contact or core.settings.products_contact or f"{agency.name} crime analysis unit",
            "basemap_notes": _basemap_notes(built.context),
        }
        html = render_html(built.template, context, template_dir=template_dir)
        pdf, pages = html_to_pdf(html)
        row.html = html
        row.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        row.pdf_pages = pages
        uow.audit(
            action="produce",
            object_type="product",
            object_id=row.id,
            details={
                "kind": built.kind,
                "version": version,
                "tlp": marking.tlp,
                "items": [i.label for i in kept],
                "withheld": list(withheld),
                "content_sha256": content_sha,
            },
            agency_id=agency.id,
        )
        return ProducedProduct(
            product_id=row.id,
            kind=built.kind,
            title=built.title,
            version=version,
            agency_code=agency.code,
            data_cutoff=cutoff,
            marking=marking,
            items=tuple(i.label for i in kept),
            withheld=withheld,
            content=built.content,
            content_sha256=content_sha,
            pdf=pdf,
            html=html,
            pdf_pages=pages,
        )


def load_product(session: Session, actor: UserInfo | None, product_id: int) -> Product:
    """The product row, when the actor may read it (own agency and ``products:read``)."""
    row = session.get(Product, product_id)
    if row is None:
        raise ProductNotFound(f"no product #{product_id}")
    if actor is not None:
        if not has_permission(actor.role, "products:read"):
            raise NotPermitted(f"your role ({actor.role}) may not read products (products:read)")
        if row.agency_id != actor.agency_id:
            raise ProductNotFound(f"no product #{product_id}")
    return row


@dataclass(frozen=True)
class Rerendered(Result):
    """A stored version built again from its parameters: the new version and what changed."""

    original_id: int
    original_version: int
    product: ProducedProduct
    same_numbers: bool
    #: Top-level keys of ``content`` whose values differ between the two versions.
    changed: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "original_id": self.original_id,
            "original_version": self.original_version,
            "product": self.product.as_dict(),
            "same_numbers": self.same_numbers,
            "changed": list(self.changed),
        }


def rerender(core: OpenILP, actor: UserInfo | None, product_id: int) -> Rerendered:
    """Build product ``product_id`` again from its stored parameters (a new version) and compare its numbers."""
    with core.unit_of_work(actor) as uow:
        row = load_product(uow.session, actor, product_id)
        kind, parameters, content = row.kind, json.loads(row.parameters), json.loads(row.content)
        original_version, original_sha = row.version, row.content_sha256
    if kind not in _BUILDERS:
        raise InvalidRequest(f"products of kind {kind!r} cannot be re-rendered")
    built = _BUILDERS[kind](core, actor, parameters)
    produced = produce(core, actor, built)
    fresh = json.loads(json.dumps(produced.content, sort_keys=True, default=str))
    changed = tuple(sorted(k for k in set(content) | set(fresh) if content.get(k) != fresh.get(k)))
    return Rerendered(product_id, original_version, produced, produced.content_sha256 == original_sha, changed)

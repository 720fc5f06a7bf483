"""The membership layer of a link chart: drawn people linked to the organisations they are designated members of.

Membership comes only from an active gang or enterprise designation
(:mod:`openilp.services.entities.memberships`): two documented criteria and a second person's
approval. The chart draws it as a layer of its own, beside the association links and never among
them: it changes no metric, no community and no key player, and nothing in the chart creates one.

A membership is drawn when its person's entity is a node of the chart (so the viewer may already
read a record naming them) and the viewer may read designations in the designation's agency (the
designation list's rule, :func:`~openilp.services.entities.memberships.may_see_memberships`). Its
organisation is the organisation's entity: the chart's node when a record names it, else a node of
the layer labelled with the designation's organisation. A viewer without ``designations:read``,
or of another agency, gets an empty layer and learns nothing of the designation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openilp.services.entities.memberships import may_see_memberships

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from openilp.security.actors import UserInfo

__all__ = ["LINK_TYPE", "MembershipLayer", "membership_layer"]

#: The ``link_type`` of a membership edge (never one of the association link types).
LINK_TYPE = "designated_member"


@dataclass(frozen=True)
class MembershipLayer:
    """Membership edges (person node → organisation node) and the organisation nodes only the layer has."""

    edges: tuple[dict[str, Any], ...] = ()
    nodes: tuple[dict[str, Any], ...] = ()

    @property
    def designations(self) -> list[int]:
        """The designations drawn, for the audit entry."""
        return sorted({int(edge["designation_id"]) for edge in self.edges})


def membership_layer(session: Session, viewer: UserInfo | None, chart_nodes: dict[str, str]) -> MembershipLayer:
    """The memberships of the people in ``chart_nodes`` (node id → label) that ``viewer`` may see."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from openilp.db.entity_models import EntityMembership, EntityMention
    from openilp.db.models import Designation
    from openilp.services.networks.sources import current_entities

    if not may_see_memberships(viewer) or not any(node.startswith("entity:") for node in chart_nodes):
        return MembershipLayer()
    person = aliased(EntityMention)
    organisation = aliased(EntityMention)
    query = (
        select(Designation, person.entity_id, organisation.entity_id)
        .join(EntityMembership, EntityMembership.designation_id == Designation.id)
        .join(person, person.id == EntityMembership.person_mention_id)
        .join(organisation, organisation.id == EntityMembership.organisation_mention_id)
        .where(Designation.status == "active", person.entity_id.is_not(None), organisation.entity_id.is_not(None))
        .order_by(Designation.id)
    )
    if viewer is not None:
        query = query.where(Designation.agency_id == viewer.agency_id)
    current = current_entities(session)
    edges: list[dict[str, Any]] = []
    extra: dict[str, dict[str, Any]] = {}
    for designation, person_entity, organisation_entity in session.execute(query).all():
        if person_entity is None or organisation_entity is None:  # excluded by the query; for the type checker
            continue
        source = f"entity:{current(int(person_entity))}"
        target = f"entity:{current(int(organisation_entity))}"
        if source not in chart_nodes:
            continue
        if target not in chart_nodes and target not in extra:
            extra[target] = {
                "id": target,
                "label": designation.organisation,
                "kind": "organisation",
                "layer": "membership",
            }
        edges.append(
            {
                "id": f"m{designation.id}",
                "source": source,
                "target": target,
                "link_type": LINK_TYPE,
                "designation_id": designation.id,
                "person": chart_nodes[source],
                "organisation": designation.organisation,
                "approved_on": designation.approved_at.date().isoformat() if designation.approved_at else None,
                "review_due_on": designation.review_due_at.date().isoformat(),
                "link": f"/networks/designations#designation-{designation.id}",
            }
        )
    return MembershipLayer(tuple(edges), tuple(extra.values()))

"""What the store adds to an imported mention: the incident it is a party to, and where an address lies.

* **Incidents.** A mapping's ``incident`` column names an incident by the number the source
  published (a complaint or case number, ``Incident.source_record_id``) in the same agency.
* **Addresses** are placed at the hundred block the agency's own geocoded incidents give: the
  mean ``x_m``/``y_m`` of the located incidents whose block address has the same hundred block
  and street (:func:`openilp.entities.things.block_key`). No outside geocoder is asked (nothing
  leaves the machine); an address on a block with no located incident stays unplaced.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openilp.db.models import Incident
from openilp.entities.things import block_key, hundred_block, normalise_street

__all__ = ["incident_ids", "BlockIndex", "block_index"]

_CHUNK = 500


def incident_ids(session: Session, agency_id: int, numbers: Iterable[str]) -> dict[str, int]:
    """Published incident number -> incident id, for the numbers the agency's store holds."""
    wanted = sorted({n for n in numbers if n})
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for number, incident_id in session.execute(
            select(Incident.source_record_id, func.min(Incident.id))
            .where(Incident.agency_id == agency_id, Incident.source_record_id.in_(chunk))
            .group_by(Incident.source_record_id)
        ):
            found[str(number)] = int(incident_id)
    return found


class BlockIndex:
    """The mean place of the agency's located incidents on each (hundred block, street)."""

    def __init__(self, rows: Iterable[tuple[str | None, float, float, int]]) -> None:
        sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for block_address, x, y, count in rows:
            key = block_key(block_address)
            if key is None or x is None or y is None:
                continue
            total = sums[key]
            total[0] += float(x) * count
            total[1] += float(y) * count
            total[2] += count
        self._places = {key: (sx / n, sy / n) for key, (sx, sy, n) in sums.items() if n > 0}

    def __len__(self) -> int:
        return len(self._places)

    def place(self, street_number: object, street: object) -> tuple[float, float] | None:
        """``(x_m, y_m)`` of the address's block, or None when the store has no incident there."""
        block, name = hundred_block(street_number), normalise_street(street)
        if block is None or name is None:
            return None
        return self._places.get((block, name))


def block_index(session: Session, agency_id: int) -> BlockIndex:
    """The block index of one agency's located incidents (one grouped query)."""
    rows = session.execute(
        select(Incident.block_address, func.avg(Incident.x_m), func.avg(Incident.y_m), func.count())
        .where(
            Incident.agency_id == agency_id,
            Incident.location_status == "located",
            Incident.block_address.is_not(None),
        )
        .group_by(Incident.block_address)
    ).all()
    return BlockIndex((str(b), float(x), float(y), int(n)) for b, x, y, n in rows)

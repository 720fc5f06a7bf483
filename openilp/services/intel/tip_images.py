"""Tip photos for triage staff: the stored image (already re-encoded without metadata), each view audited.

Images sent with a tip are stripped of EXIF, GPS and camera data when they arrive
(:func:`openilp.intel.images.strip_image`), so what staff see is the stripped copy: nothing about
the tipster's phone or whereabouts. Viewing one is a read of tip material, written to the audit log
with the tip's public ID and the attachment's number.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from openilp.core import OpenILP, Request, Result
from openilp.db.models import TipAttachment
from openilp.intel.errors import IntelNotFound
from openilp.intel.rules import SubmissionError
from openilp.security.actors import UserInfo
from openilp.services.intel.tip_triage import staff_tip

__all__ = ["TipImage", "TipImageRequest", "tip_image"]

#: Content types a stored attachment may have (what the stripping re-encodes to).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


@dataclass(frozen=True)
class TipImageRequest(Request):
    """Attachment ``attachment_id`` of the agency's tip ``tip_id`` (its public ID, ``T-…``)."""

    tip_id: str
    attachment_id: int

    def validate(self) -> TipImageRequest:
        tip_id = str(self.tip_id or "").strip()
        if not tip_id or len(tip_id) > 40:
            raise SubmissionError("give the tip's ID (T-…)")
        if not isinstance(self.attachment_id, int) or self.attachment_id < 1:
            raise SubmissionError("the attachment number must be a positive whole number")
        return dataclasses.replace(self, tip_id=tip_id)


@dataclass(frozen=True)
class TipImage(Result):
    """The stripped image: its bytes, content type and SHA-256 (as stored when it arrived)."""

    tip_id: str
    attachment_id: int
    content_type: str
    sha256: str
    data: bytes

    def as_dict(self) -> dict[str, object]:
        return {
            "tip_id": self.tip_id,
            "attachment_id": self.attachment_id,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "size_bytes": len(self.data),
        }


def tip_image(core: OpenILP, user: UserInfo, request: TipImageRequest) -> TipImage:
    """An image of one of the agency's tips, for staff with ``tips:triage`` (the view is audited).

    Raises IntelForbidden without the permission and IntelNotFound for another agency's tip or an
    attachment that is not the tip's.
    """
    request = request.validate()
    with core.unit_of_work(user) as uow:
        tip = staff_tip(uow.session, user, request.tip_id)
        row = uow.session.get(TipAttachment, request.attachment_id)
        if row is None or row.tip_id != tip.id or row.content_type not in IMAGE_TYPES:
            raise IntelNotFound("no such attachment on this tip")
        uow.audit(
            action="read",
            object_type="tip_attachment",
            object_id=f"{tip.public_id}/{row.id}",
            purpose="tip triage",
            details={"sha256": row.sha256, "size_bytes": row.size_bytes},
        )
        return TipImage(tip.public_id, row.id, row.content_type, row.sha256, bytes(row.data))

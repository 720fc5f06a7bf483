"""Corrections and purges reach every instance that received a record: the signed outbox.

When the owner corrects or purges a record that a partner instance received (an open summary in a
federated search, remembered as a share), :func:`openilp.services.intel.common.notify_past_recipients`
puts one notice per partner in the outbox. :func:`deliver_pending` sends each pending notice as a
signed ``POST /federation/v1/notices``; a notice the partner does not acknowledge is retried with
exponential backoff (30 s, 1 min, 2 min, ... at most 1 h apart) and marked ``failed`` after
:data:`MAX_ATTEMPTS`. Every attempt is audited on the owner's side (``federation_notice_sent``).
The web app sends pending notices on a schedule; ``openilp federation deliver`` sends them at once.

On the receiving side, :func:`answer_notice` finds the summaries of that record its users were
shown: a **purge** erases the kept content and notifies each of those users to destroy their
copies; a **correction** marks them ``corrected`` and tells the users to search again. Audited
(``federation_notice``) with the partner and the end user named in the call.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from openilp.core import OpenILP
from openilp.db.federation_models import FederationDelivery, FederationPartner, FederationReceived
from openilp.errors import InvalidRequest
from openilp.services.federation.client import PartnerTarget, instance_private_key, signed_post
from openilp.services.federation.inbound import IncomingCall, authenticate
from openilp.services.federation.partners import instance_name
from openilp.services.intel.common import notify

__all__ = ["NOTICES_PATH", "MAX_ATTEMPTS", "DeliveryReport", "backoff_s", "deliver_pending", "answer_notice"]

NOTICES_PATH = "/federation/v1/notices"
#: Attempts before a notice is marked failed (about a day of retries at the longest backoff).
MAX_ATTEMPTS = 30
_FIRST_BACKOFF_S = 30
_LONGEST_BACKOFF_S = 3600


def backoff_s(attempts: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones.

    >>> [backoff_s(n) for n in (1, 2, 3, 8, 20)]
    [30, 60, 120, 3600, 3600]
    """
    return int(min(_FIRST_BACKOFF_S * 2 ** max(attempts - 1, 0), _LONGEST_BACKOFF_S))


@dataclass(frozen=True)
class DeliveryReport:
    """How many pending notices were delivered, are to be retried, or failed for good."""

    delivered: int
    retrying: int
    failed: int


def deliver_pending(core: OpenILP, *, limit: int = 100) -> DeliveryReport:
    """Send every due notice in the outbox (signed); retry with backoff; audit each attempt."""
    with core.unit_of_work(None) as uow:
        due = uow.session.execute(
            select(FederationDelivery, FederationPartner)
            .join(FederationPartner, FederationPartner.id == FederationDelivery.partner_id)
            .where(FederationDelivery.status == "pending", FederationDelivery.next_attempt_at <= uow.now)
            .order_by(FederationDelivery.id)
            .limit(limit)
        ).all()
        work = [(d.id, json.loads(d.payload), PartnerTarget(p.id, p.name, p.base_url), p.active) for d, p in due]
    if not work:
        return DeliveryReport(0, 0, 0)
    key = instance_private_key(core)
    timeout_s = max(core.settings.federation_timeout_ms, 1) / 1000.0
    sender = f"{instance_name(core)} (records office)"
    outcomes = [
        (
            delivery_id,
            target,
            signed_post(core, key, target, NOTICES_PATH, payload, end_user=sender, timeout_s=timeout_s),
        )
        if active
        else (delivery_id, target, None)
        for delivery_id, payload, target, active in work
    ]
    delivered = retrying = failed = 0
    with core.unit_of_work(None) as uow:
        for delivery_id, target, outcome in outcomes:
            row = uow.session.get(FederationDelivery, delivery_id)
            if row is None:
                continue
            row.attempts += 1
            ok = outcome is not None and outcome.ok
            if ok:
                row.status, row.delivered_at, row.last_error = "delivered", uow.now, ""
                delivered += 1
            else:
                row.last_error = ("the partner was removed" if outcome is None else outcome.error)[:500]
                if outcome is None or row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    failed += 1
                else:
                    row.next_attempt_at = uow.now + dt.timedelta(seconds=backoff_s(row.attempts))
                    retrying += 1
            uow.audit(
                action="federation_notice_sent",
                object_type="intel_record",
                object_id=row.record_id,
                details={
                    "partner": target.name,
                    "kind": row.kind,
                    "attempt": row.attempts,
                    "status": row.status,
                    "error": row.last_error,
                },
            )
    return DeliveryReport(delivered, retrying, failed)


def answer_notice(core: OpenILP, call: IncomingCall) -> dict[str, Any]:
    """A partner's correction or purge notice about one of its records (module notes)."""
    with core.unit_of_work(None) as uow:
        caller = authenticate(uow, call, core.settings.federation_clock_skew_s)
        body = call.payload()
        kind = str(body.get("kind", ""))
        if kind not in ("correction", "purge"):
            raise InvalidRequest("a notice's kind is correction or purge")
        try:
            record_id = int(str(body.get("record_id", "")))
        except ValueError as exc:
            raise InvalidRequest("a notice names the partner's record_id") from exc
        message = " ".join(str(body.get("message", "")).split())[:600]
        session, now = uow.session, uow.now
        rows = session.scalars(
            select(FederationReceived).where(
                FederationReceived.partner_id == caller.partner_id, FederationReceived.remote_record_id == record_id
            )
        ).all()
        for row in rows:
            if kind == "purge":
                row.content, row.status = "", "purged"
                text = (
                    f"Partner {caller.partner_name} purged record #{record_id} that you were shown. "
                    "Destroy your copies."
                )
            else:
                row.status = "corrected" if row.status != "purged" else row.status
                text = f"Partner {caller.partner_name} corrected record #{record_id} that you were shown. Search again."
            row.updated_at = now
            notify(
                session, agency_id=row.agency_id, user_id=row.user_id, kind=kind, message=f"{text} {message}", now=now
            )
        uow.audit(
            action="federation_notice",
            object_type="federation_received",
            object_id=record_id,
            details={**caller.audit_details(), "kind": kind, "users_notified": len(rows)},
        )
        return {"instance": instance_name(core), "received": len(rows)}

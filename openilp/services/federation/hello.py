"""``/federation/v1/hello``: a partner checks that its key and clock are accepted here."""

from __future__ import annotations

from typing import Any

from openilp.core import OpenILP
from openilp.services.federation.inbound import IncomingCall, authenticate
from openilp.services.federation.partners import instance_name

__all__ = ["answer_hello"]


def answer_hello(core: OpenILP, call: IncomingCall) -> dict[str, Any]:
    """This instance's name and the caller as registered here (audited ``federation_hello``)."""
    with core.unit_of_work(None) as uow:
        caller = authenticate(uow, call, core.settings.federation_clock_skew_s)
        uow.audit(
            action="federation_hello",
            object_type="federation_partner",
            object_id=caller.partner_id,
            details=caller.audit_details(),
        )
        return {"instance": instance_name(core), "you_are": caller.partner_name, "time": uow.now.isoformat()}

"""Federation between OpenILP instances: partners, signed calls, federated search, propagation.

* :mod:`~openilp.services.federation.partners`: the partner registry and this instance's key.
* :mod:`~openilp.services.federation.inbound`: checking a partner's signed call (401 and audited
  when unsigned, tampered, replayed or out of the clock window).
* :mod:`~openilp.services.federation.client`: signed calls out, fanned out in parallel with a
  deadline, each audited.
* :mod:`~openilp.services.federation.hello`: the partner's key and clock check.
* :mod:`~openilp.services.federation.search`: federated search, answered pointer-first by sensitivity.
* :mod:`~openilp.services.federation.propagation`: corrections and purges sent to every partner
  that received the record (signed outbox, retried with backoff).

The signature scheme itself is in :mod:`openilp.security.federation` (docs/security.md).
"""

from openilp.services.federation.client import CallOutcome, PartnerTarget, fan_out, signed_post
from openilp.services.federation.hello import answer_hello
from openilp.services.federation.inbound import Caller, FederationRefused, IncomingCall, authenticate
from openilp.services.federation.partners import (
    FederationError,
    InstanceKey,
    PartnerInfo,
    PartnerRequest,
    add_partner,
    generate_instance_key,
    instance_name,
    list_partners,
    read_instance_key,
    remove_partner,
)
from openilp.services.federation.propagation import DeliveryReport, answer_notice, deliver_pending
from openilp.services.federation.search import (
    FederatedHit,
    FederatedSearchRequest,
    FederatedSearchResult,
    Unanswered,
    answer_search,
    federated_search,
)

__all__ = [
    "CallOutcome",
    "DeliveryReport",
    "answer_notice",
    "deliver_pending",
    "FederatedHit",
    "FederatedSearchRequest",
    "FederatedSearchResult",
    "Unanswered",
    "answer_search",
    "federated_search",
    "Caller",
    "FederationError",
    "FederationRefused",
    "IncomingCall",
    "InstanceKey",
    "PartnerInfo",
    "PartnerRequest",
    "PartnerTarget",
    "add_partner",
    "answer_hello",
    "authenticate",
    "fan_out",
    "generate_instance_key",
    "instance_name",
    "list_partners",
    "read_instance_key",
    "remove_partner",
    "signed_post",
]

"""Signed calls to partner instances, one at a time or fanned out in parallel with a deadline.

:func:`fan_out` sends the same signed request to several partners at once (a thread each, httpx)
and waits at most ``timeout_s`` in all: a partner that is down answers at once with a connection
error, a slow or stalled one is given up at the deadline; either way the answer names it among the
partners that did not answer, and the others' answers are used. Calls are made outside any
database transaction; the caller audits each outgoing call (:func:`audit_outgoing`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from openilp.core import OpenILP, UnitOfWork
from openilp.security.federation import load_private_key, sign_request
from openilp.services.federation.partners import FederationError, instance_key_path

__all__ = [
    "PartnerTarget",
    "CallOutcome",
    "signed_post",
    "fan_out",
    "fan_out_each",
    "audit_outgoing",
    "instance_private_key",
]


@dataclass(frozen=True)
class PartnerTarget:
    """Where a call goes (read from the registry before the transaction ends)."""

    partner_id: int
    name: str
    base_url: str


@dataclass(frozen=True)
class CallOutcome:
    """One partner's answer: its JSON (``answer``) or why there is none (``error``)."""

    partner: PartnerTarget
    answer: Mapping[str, Any] | None
    error: str
    status_code: int | None
    elapsed_ms: int

    @property
    def ok(self) -> bool:
        return self.answer is not None


def instance_private_key(core: OpenILP) -> Ed25519PrivateKey:
    """This instance's signing key; :class:`FederationError` when none has been generated."""
    try:
        return load_private_key(instance_key_path(core))
    except (FileNotFoundError, ValueError) as exc:
        raise FederationError(str(exc)) from exc


def signed_post(
    core: OpenILP,
    key: Ed25519PrivateKey,
    target: PartnerTarget,
    path: str,
    payload: Mapping[str, Any],
    *,
    end_user: str,
    timeout_s: float,
    client: httpx.Client | None = None,
) -> CallOutcome:
    """POST ``payload`` as JSON to ``target``'s ``path``, signed; never raises for the network.

    ``client``: an open httpx client to reuse (building one with TLS verification costs ~0.1 s).
    """
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
    headers = sign_request(key, "POST", path, body, user=end_user, now=core.now())
    headers["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        if client is None:
            response = httpx.post(target.base_url + path, content=body, headers=headers, timeout=timeout_s)
        else:
            response = client.post(target.base_url + path, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return CallOutcome(target, None, f"no answer ({type(exc).__name__})", None, elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    if response.status_code != 200:
        detail = ""
        with contextlib.suppress(ValueError, AttributeError):
            detail = str(response.json().get("detail", ""))[:200]
        return CallOutcome(
            target, None, f"refused: HTTP {response.status_code} {detail}".strip(), response.status_code, elapsed
        )
    try:
        answer = response.json()
    except ValueError:
        return CallOutcome(target, None, "answered with something that is not JSON", response.status_code, elapsed)
    if not isinstance(answer, dict):
        return CallOutcome(
            target, None, "answered with something that is not a JSON object", response.status_code, elapsed
        )
    return CallOutcome(target, answer, "", response.status_code, elapsed)


def fan_out(
    core: OpenILP,
    targets: Sequence[PartnerTarget],
    path: str,
    payload: Mapping[str, Any],
    *,
    end_user: str,
    timeout_s: float,
) -> list[CallOutcome]:
    """The same signed POST to every target in parallel; at most ``timeout_s`` seconds in all."""
    return fan_out_each(core, [(target, payload) for target in targets], path, end_user=end_user, timeout_s=timeout_s)


def fan_out_each(
    core: OpenILP,
    calls: Sequence[tuple[PartnerTarget, Mapping[str, Any]]],
    path: str,
    *,
    end_user: str,
    timeout_s: float,
) -> list[CallOutcome]:
    """A signed POST of its own payload to each target, in parallel; at most ``timeout_s`` seconds in all."""
    if not calls:
        return []
    targets = [target for target, _ in calls]
    key = instance_private_key(core)
    started = time.monotonic()
    # TLS verification only matters (and its certificate store is only loaded) for https partners.
    client = httpx.Client(verify=any(t.base_url.startswith("https://") for t in targets))
    pool = ThreadPoolExecutor(max_workers=min(16, len(targets)), thread_name_prefix="openilp-federation")
    futures: dict[Future[CallOutcome], PartnerTarget] = {}
    done: set[Future[CallOutcome]] = set()
    try:
        futures = {
            pool.submit(
                signed_post, core, key, target, path, payload, end_user=end_user, timeout_s=timeout_s, client=client
            ): target
            for target, payload in calls
        }
        done, _ = wait(futures, timeout=timeout_s + 0.5, return_when=FIRST_EXCEPTION)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if all(future.done() for future in futures):
            client.close()  # a stalled call still holds it otherwise: closed when garbage-collected
    outcomes: list[CallOutcome] = []
    for future, target in futures.items():
        if future in done and future.exception() is None:
            outcomes.append(future.result())
        else:
            elapsed = int((time.monotonic() - started) * 1000)
            reason = "no answer within the timeout" if future not in done else f"failed: {future.exception()}"
            outcomes.append(CallOutcome(target, None, reason, None, elapsed))
    return outcomes


def audit_outgoing(uow: UnitOfWork, outcomes: Sequence[CallOutcome], *, path: str, end_user: str) -> None:
    """One audit entry per outgoing call (``federation_call``): partner, path, end user, outcome."""
    for outcome in outcomes:
        uow.audit(
            action="federation_call",
            object_type="federation_partner",
            object_id=outcome.partner.partner_id,
            details={
                "partner": outcome.partner.name,
                "path": path,
                "end_user": end_user,
                "answered": outcome.ok,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "elapsed_ms": outcome.elapsed_ms,
            },
        )

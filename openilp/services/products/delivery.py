"""Sending a product: to a file, a folder or by e-mail, each sending in the dissemination log.

Every sending writes a row of the product dissemination log (who sent which version to whom, why,
by which channel, which items, at which TLP level) and an audit entry, whether it arrived or not.
A product that holds intelligence records (an officer-safety alert) also writes, for each record on
its pages, a row of that **record's** dissemination log (``kind`` "product": who, to whom, why, which
product version, at which TLP level, with the record's handling conditions), exactly as a release
does: the control official sees every sending of the record, and corrections and purges of the
record advise the product's recipients. Downloads by signed-in users of the agency are not
releases and write only the product's log. A failed sending (the folder cannot be written, the
mail server refuses or cannot be reached) is recorded as ``failed`` with the error and then raised
as :class:`DeliveryFailed`: a schedule run from cron exits non-zero and prints why, nothing is
swallowed.

E-mail goes through the SMTP server of the settings (``smtp_host``, ``smtp_port``,
``smtp_sender``); the subject carries the TLP level and the body the handling caveat, the PDF is
attached.

The web app sends through :func:`send_from_app`, which offers only the ``folder`` and ``email``
channels: a request made over HTTP never names a file or folder on the server. Its ``folder``
channel writes to the agency's folder of the settings (``products_folder``, ``{agency}`` replaced
by the agency code) and to no other, creating it and its parents (mode 0o750) when missing
(:func:`make_folder`); when it cannot be created the sending fails, logged, naming the setting.
"""

from __future__ import annotations

import dataclasses
import json
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from openilp.config import Settings
from openilp.core import OpenILP, Request, Result
from openilp.db.models import IntelDissemination, IntelRecord
from openilp.db.product_models import Product, ProductDissemination
from openilp.errors import InvalidRequest, NotPermitted, ServiceError
from openilp.products.render import html_to_pdf
from openilp.security.actors import UserInfo
from openilp.security.roles import has_permission
from openilp.services.products.common import load_product

__all__ = [
    "APP_CHANNELS",
    "CHANNELS",
    "DOWNLOAD",
    "DeliveryFailed",
    "Download",
    "SendRequest",
    "Sent",
    "agency_folder",
    "download_product",
    "file_name",
    "make_folder",
    "send_from_app",
    "send_product",
]

#: How a product is sent.
CHANNELS = ("file", "folder", "email")
#: The channels the web app offers: never ``file``, whose recipient is a path on the server.
APP_CHANNELS = ("folder", "email")
#: The dissemination-log channel of a product downloaded from the web app by a signed-in user.
DOWNLOAD = "download"
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MIN_REASON_CHARS = 5


class DeliveryFailed(ServiceError):
    """The product could not be delivered; the failure is in the dissemination log."""

    #: The web app answers 502: the folder or the mail server behind it failed, not the request.
    status_code = 502


@dataclass(frozen=True)
class SendRequest(Request):
    """Send product ``product_id`` by ``channel`` to ``recipient`` (a path, a folder, or e-mail addresses)."""

    product_id: int
    channel: str
    recipient: str
    reason: str
    #: The folder is the agency's folder of the setting ``products_folder`` (the web app's folder
    #: channel): created with its parents (mode 0o750) when missing, and a failure names the setting.
    #: A folder named on the command line must exist.
    from_setting: bool = False

    def validate(self) -> SendRequest:
        if self.channel not in CHANNELS:
            raise InvalidRequest(f"channel must be one of {', '.join(CHANNELS)}, got {self.channel!r}")
        recipient = self.recipient.strip()
        if not recipient:
            raise InvalidRequest("name the recipient: a file, a folder or e-mail addresses")
        if self.channel == "email":
            addresses = [a.strip() for a in re.split(r"[,;]", recipient) if a.strip()]
            bad = [a for a in addresses if not _ADDRESS.match(a)]
            if bad or not addresses:
                raise InvalidRequest(f"not an e-mail address: {', '.join(bad) or recipient!r}")
            recipient = ", ".join(addresses)
        reason = " ".join(self.reason.split())
        if len(reason) < MIN_REASON_CHARS:
            raise InvalidRequest(f"state why the product is sent (at least {MIN_REASON_CHARS} characters)")
        return dataclasses.replace(self, recipient=recipient[:500], reason=reason[:500])


@dataclass(frozen=True)
class Sent(Result):
    """One row of the product dissemination log just written (status ``delivered``)."""

    dissemination_id: int
    product_id: int
    channel: str
    recipient: str
    path: str = ""


def file_name(row: Product) -> str:
    """The file name of a product version in a folder: ``<kind>-<title words>-v<version>.pdf``."""
    words = re.sub(r"[^A-Za-z0-9]+", "-", row.title).strip("-").lower()[:80]
    return f"{row.kind}-{row.id}-{words}-v{row.version}.pdf"


def _deliver(core: OpenILP, request: SendRequest, name: str, subject: str, body: str, pdf: bytes) -> str:
    """Deliver ``pdf``; return where it went. Raises OSError or smtplib errors on failure."""
    if request.channel == "file":
        path = Path(request.recipient)
        path.write_bytes(pdf)
        return str(path)
    if request.channel == "folder":
        folder = Path(request.recipient)
        if request.from_setting:
            make_folder(folder)
        elif not folder.is_dir():
            raise OSError(f"folder {folder} does not exist")
        path = folder / name
        path.write_bytes(pdf)
        return str(path)
    settings = core.settings
    if not settings.smtp_host or not settings.smtp_sender:
        raise OSError("e-mail delivery is not configured (set smtp_host and smtp_sender)")
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = request.recipient
    message["Subject"] = subject
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    with smtplib.SMTP(settings.smtp_host, int(settings.smtp_port), timeout=30) as smtp:
        smtp.send_message(message)
    return request.recipient


#: The mode of a products folder (and of its missing parents) created at delivery time.
FOLDER_MODE = 0o750


def make_folder(folder: Path) -> None:
    """Create the products folder ``folder`` and its missing parents, each with mode 0o750.

    An existing folder is left as it is. Raises :class:`OSError` naming the folder and the setting
    ``products_folder`` when it cannot be created (a part of the path is a file, no permission).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as top:
    ...     made = Path(top) / "products" / "SLMPD"
    ...     make_folder(made)
    ...     oct(made.stat().st_mode & 0o777), oct(made.parent.stat().st_mode & 0o777)
    ('0o750', '0o750')
    """
    if folder.is_dir():
        return
    missing: list[Path] = []
    here = folder
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    try:
        if not here.is_dir():
            raise NotADirectoryError(f"{here} is not a folder")
        for part in reversed(missing):
            try:
                part.mkdir(mode=FOLDER_MODE)
            except FileExistsError:
                if not part.is_dir():
                    raise
                continue
            part.chmod(FOLDER_MODE)  # mkdir's mode is narrowed by the umask; this is exactly 0o750
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OSError(
            f"the products folder {folder} (setting products_folder) does not exist and cannot be created: {reason}"
        ) from exc


def _log_record_releases(
    session: Any,
    record_ids: list[int],
    actor: UserInfo | None,
    request: SendRequest,
    version_label: str,
    tlp: str,
    now: Any,
) -> None:
    """One row of each record's own dissemination log for a product sent outside the app."""
    for record_id in record_ids:
        record = session.get(IntelRecord, record_id)
        if record is None:  # purged since the product was built: nothing of it is left to log
            continue
        session.add(
            IntelDissemination(
                record_id=record_id,
                kind="product",
                released_by_id=None if actor is None else actor.id,
                recipient_agency_id=None,
                recipient_user_id=None,
                recipient_name=f"{request.channel}: {request.recipient}"[:200],
                reason=request.reason[:500],
                need_to_know=request.reason,
                items=json.dumps([version_label]),
                handling_conditions=record.handling_conditions or "",
                released_at=now,
                tlp=tlp,
            )
        )


def send_product(core: OpenILP, actor: UserInfo | None, request: SendRequest, *, pdf: bytes | None = None) -> Sent:
    """Send a stored product version and log it (see the module docstring).

    ``pdf`` is the version's PDF when the caller has it (just produced); otherwise it is rendered
    again from the stored HTML. Raises :class:`DeliveryFailed` after logging a failed sending.
    """
    request = request.validate()
    if actor is not None and not has_permission(actor.role, "products:send"):
        raise NotPermitted(f"your role ({actor.role}) may not send products (products:send)")
    with core.unit_of_work(actor) as uow:
        row = load_product(uow.session, actor, request.product_id)
        marking = json.loads(row.marking)
        name = file_name(row)
        subject = f"[{row.tlp}] {row.title} (version {row.version})"
        body = (
            f"{marking['header']}\n\n{row.title}, version {row.version}.\n{marking['footer']}\n\n"
            f"Sent because: {request.reason}\n"
        )
        html, items, tlp, agency_id = row.html, row.items, row.tlp, row.agency_id
        record_ids = [int(i) for i in json.loads(row.content or "{}").get("record_ids", [])]
        version_label = f"product #{row.id} ({row.kind}, version {row.version}): {row.title}"[:300]
    document = pdf if pdf is not None else html_to_pdf(html)[0]
    error = ""
    where = ""
    try:
        where = _deliver(core, request, name, subject, body, document)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    with core.unit_of_work(actor) as uow:
        entry = ProductDissemination(
            product_id=request.product_id,
            sent_by_id=None if actor is None else actor.id,
            channel=request.channel,
            recipient=request.recipient,
            reason=request.reason,
            items=json.dumps([i["label"] for i in json.loads(items)]),
            tlp=tlp,
            status="failed" if error else "delivered",
            error=error,
            sent_at=uow.now,
        )
        uow.session.add(entry)
        uow.session.flush()
        if not error:
            _log_record_releases(uow.session, record_ids, actor, request, version_label, tlp, uow.now)
        details: dict[str, Any] = {"channel": request.channel, "recipient": request.recipient, "tlp": tlp}
        if record_ids and not error:
            details["records"] = record_ids
        if error:
            details["error"] = error
        uow.audit(
            action="send_failed" if error else "send",
            object_type="product",
            object_id=request.product_id,
            purpose=request.reason,
            details=details,
            agency_id=agency_id,
        )
        entry_id = entry.id
    if error:
        raise DeliveryFailed(f"product #{request.product_id} was not delivered to {request.recipient}: {error}")
    return Sent(entry_id, request.product_id, request.channel, request.recipient, where)


def agency_folder(settings: Settings, agency_code: str) -> str:
    """The folder the web app sends agency ``agency_code``'s products to ("" when none is configured).

    >>> agency_folder(Settings(products_folder="/srv/products/{agency}"), "SLMPD")
    '/srv/products/SLMPD'
    >>> agency_folder(Settings(), "SLMPD")
    ''
    """
    folder = settings.products_folder.strip()
    return folder.replace("{agency}", agency_code) if folder else ""


def send_from_app(core: OpenILP, actor: UserInfo, product_id: int, channel: str, recipient: str, reason: str) -> Sent:
    """Send a stored version of the actor's agency from the web app, through :func:`send_product`.

    Only :data:`APP_CHANNELS`: e-mail to the addresses in ``recipient``, or the agency's configured
    folder (``recipient`` must then be empty: a request never names a server path). Raises
    :class:`~openilp.errors.InvalidRequest` for any other channel or a named folder, and
    :class:`DeliveryFailed` (logged) when the folder cannot be created or written, or the mail server fails.
    """
    if channel not in APP_CHANNELS:
        raise InvalidRequest(
            f"the web app sends by {' or '.join(APP_CHANNELS)}, not {channel[:20]!r}; "
            "writing a file on the server is for the command line"
        )
    if channel == "folder":
        if recipient.strip():
            raise InvalidRequest(
                "the folder channel writes to your agency's configured products folder; "
                "a request may not name a folder or path (leave the recipient empty)"
            )
        folder = agency_folder(core.settings, actor.agency_code)
        if not folder:
            raise InvalidRequest("no products folder is configured for your agency (setting products_folder)")
        recipient = folder
    return send_product(
        core, actor, SendRequest(product_id, channel, recipient, reason, from_setting=channel == "folder")
    )


@dataclass(frozen=True)
class Download(Result):
    """A stored product version as a document handed to the signed-in user (logged as ``download``)."""

    product_id: int
    file_name: str
    media_type: str
    body: bytes


def download_product(core: OpenILP, actor: UserInfo, product_id: int, fmt: str, reason: str) -> Download:
    """The PDF (rendered again from the stored HTML) or the HTML of a stored version, for ``actor``.

    Needs ``products:read`` in the product's agency; every download is a row of the dissemination
    log (channel ``download``, the user as recipient) and an audit entry ``send``, as a sending is.
    """
    if fmt not in ("pdf", "html"):
        raise InvalidRequest(f"format must be pdf or html, got {fmt!r}")
    reason = " ".join(reason.split())[:500]
    if len(reason) < MIN_REASON_CHARS:
        raise InvalidRequest(f"state why the product is downloaded (at least {MIN_REASON_CHARS} characters)")
    with core.unit_of_work(actor) as uow:
        row = load_product(uow.session, actor, product_id)
        name = file_name(row)
        html, items, tlp, agency_id = row.html, row.items, row.tlp, row.agency_id
    if fmt == "pdf":
        body, media_type = html_to_pdf(html)[0], "application/pdf"
    else:
        body, media_type, name = html.encode("utf-8"), "text/html; charset=utf-8", name[: -len(".pdf")] + ".html"
    recipient = f"{actor.username} ({fmt.upper()} download)"[:500]
    with core.unit_of_work(actor) as uow:
        entry = ProductDissemination(
            product_id=product_id,
            sent_by_id=actor.id,
            channel=DOWNLOAD,
            recipient=recipient,
            reason=reason,
            items=json.dumps([i["label"] for i in json.loads(items)]),
            tlp=tlp,
            status="delivered",
            error="",
            sent_at=uow.now,
        )
        uow.session.add(entry)
        uow.audit(
            action="send",
            object_type="product",
            object_id=product_id,
            purpose=reason,
            details={"channel": DOWNLOAD, "recipient": recipient, "tlp": tlp, "format": fmt},
            agency_id=agency_id,
        )
    return Download(product_id, name, media_type, body)

"""NIBRS XML (FBI IEPD 2019.1): one Group A incident report per incident, and its schema check.

A NIBRS XML submission (``nibrs:Submission``) carries exactly one report; a month of an agency's
incidents is therefore a set of documents, one per incident (FBI CJIS, *NIBRS XML Information
Exchange Package Documentation 2019.1*, 2018). :func:`group_a_report` writes one in the shape of
the IEPD's samples (``iep-sample/nibrs_GroupAIncident_Sample.xml``) with what a police open-data
record holds: the incident number (element 2), its date and, when known, hour (element 3), its
Group A offences (element 6) and their location type (element 9). The location type is written
as ``25`` (*other/unknown*) because the records carry none; victims, offenders, property and
arrestees are not in the records and are not written (their segments are optional in the schema,
required by the FBI's business rules: a state program asks for them before it accepts a submission).

:class:`NibrsSchema` validates documents against the official ``nibrs.xsd`` with lxml, offline; the
schema is never bundled, the caller names where it lies.

>>> import datetime as dt
>>> incident = NibrsIncident("19-000001", dt.datetime(2019, 3, 4, 22, 15), True, ("13A", "290"))
>>> document = group_a_report(incident, ori="MO0000000", report_month="2019-03", message_time=dt.datetime(2019, 4, 1))
>>> b"<nibrs:OffenseUCRCode>13A</nibrs:OffenseUCRCode>" in document
True
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

__all__ = [
    "NAMESPACES",
    "NIBRS_SCHEMA_RELATIVE_PATH",
    "NibrsIncident",
    "NibrsSchema",
    "check_ori",
    "group_a_report",
    "MAX_INCIDENT_NUMBER_CHARS",
]

#: The namespaces of a NIBRS 2019 submission (prefixes as in the IEPD samples).
NAMESPACES: dict[str, str] = {
    "nibrs": "http://fbi.gov/cjis/nibrs/2019",
    "cjis": "http://fbi.gov/cjis/2.0",
    "j": "http://release.niem.gov/niem/domains/jxdm/5.2/",
    "nc": "http://release.niem.gov/niem/niem-core/3.0/",
    "s": "http://release.niem.gov/niem/structures/3.0/",
}
#: Where ``nibrs.xsd`` lies inside an unpacked IEPD 2019.1.
NIBRS_SCHEMA_RELATIVE_PATH = Path("base-xsd") / "nibrs" / "2019" / "nibrs.xsd"
#: NIBRS element 2, the incident number, holds at most 12 characters.
MAX_INCIDENT_NUMBER_CHARS = 12
#: NIBRS location type 25: other/unknown.
UNKNOWN_LOCATION = "25"

_ORI = re.compile(r"^[A-Z]{2}[A-Z0-9]{7}$")


def check_ori(ori: str) -> str:
    """``ori`` in capitals if it is an ORI (two-letter state code and seven letters or digits), else ValueError.

    >>> check_ori("mo0000000")
    'MO0000000'
    """
    value = ori.strip().upper()
    if not _ORI.match(value):
        raise ValueError(
            f"ORI must be 9 characters, a state code and 7 letters or digits (like MO0950000), got {ori!r}"
        )
    return value


@dataclass(frozen=True)
class NibrsIncident:
    """One incident for NIBRS: its number, local occurrence time, whether the hour is known, Group A offences.

    ``date_is_report_date`` says the date is the day the incident was reported, its occurrence date
    being unknown (NIBRS element 3's report-date indicator).
    """

    incident_number: str
    occurred_local: dt.datetime | dt.date
    hour_known: bool
    offences: tuple[str, ...]
    date_is_report_date: bool = False


def _el(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NAMESPACES[prefix]}}}{name}")
    for key, value in attributes.items():
        a_prefix, a_name = key.split("_", 1)
        element.set(f"{{{NAMESPACES[a_prefix]}}}{a_name}", value)
    if text is not None:
        element.text = text
    return element


def _ori(parent: etree._Element, tag: str, ori: str) -> None:
    organisation = _el(_el(parent, tag), "j:OrganizationAugmentation")
    _el(_el(organisation, "j:OrganizationORIIdentification"), "nc:IdentificationID", ori)


def group_a_report(incident: NibrsIncident, *, ori: str, report_month: str, message_time: dt.datetime) -> bytes:
    """A ``nibrs:Submission`` with one Group A incident report (action ``I``, incident) as UTF-8 XML.

    ``report_month`` is ``YYYY-MM`` (data element "year/month of report"), ``message_time`` the
    moment of the submission. The offences must be Group A codes, each at most once.
    """
    if not incident.offences:
        raise ValueError(f"incident {incident.incident_number}: a Group A report needs at least one offence")
    if len(set(incident.offences)) != len(incident.offences):
        raise ValueError(f"incident {incident.incident_number}: each offence code may appear once")
    root = etree.Element(f"{{{NAMESPACES['nibrs']}}}Submission", nsmap=NAMESPACES)
    metadata = _el(root, "cjis:MessageMetadata")
    _el(metadata, "cjis:MessageDateTime", message_time.replace(tzinfo=None, microsecond=0).isoformat())
    _el(_el(metadata, "cjis:MessageIdentification"), "nc:IdentificationID", incident.incident_number)
    _el(metadata, "cjis:MessageImplementationVersion", "2019")
    _ori(metadata, "cjis:MessageSubmittingOrganization", ori)

    report = _el(root, "nibrs:Report")
    header = _el(report, "nibrs:ReportHeader")
    _el(header, "nibrs:NIBRSReportCategoryCode", "GROUP A INCIDENT REPORT")
    _el(header, "nibrs:ReportActionCategoryCode", "I")
    _el(_el(header, "nibrs:ReportDate"), "nc:YearMonthDate", report_month)
    _ori(header, "nibrs:ReportingAgency", ori)

    record = _el(report, "nc:Incident")
    _el(_el(record, "nc:ActivityIdentification"), "nc:IdentificationID", incident.incident_number)
    when = _el(record, "nc:ActivityDate")
    if incident.hour_known and isinstance(incident.occurred_local, dt.datetime):
        _el(when, "nc:DateTime", incident.occurred_local.replace(minute=0, second=0, microsecond=0).isoformat())
    else:
        day = incident.occurred_local
        _el(when, "nc:Date", (day.date() if isinstance(day, dt.datetime) else day).isoformat())
    _el(
        _el(record, "cjis:IncidentAugmentation"),
        "cjis:IncidentReportDateIndicator",
        "true" if incident.date_is_report_date else "false",
    )

    for number, offence in enumerate(incident.offences, start=1):
        _el(_el(report, "j:Offense", s_id=f"Offense{number}"), "nibrs:OffenseUCRCode", offence)
    for number in range(1, len(incident.offences) + 1):
        _el(_el(report, "nc:Location", s_id=f"Location{number}"), "nibrs:LocationCategoryCode", UNKNOWN_LOCATION)
    for number in range(1, len(incident.offences) + 1):
        association = _el(report, "j:OffenseLocationAssociation")
        _el(association, "j:Offense", s_ref=f"Offense{number}")
        _el(association, "nc:Location", s_ref=f"Location{number}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class NibrsSchema:
    """The official NIBRS 2019 schema, compiled once, that checks documents.

    ``schema_path`` is ``nibrs.xsd`` itself or the folder of the unpacked IEPD (its
    ``base-xsd/nibrs/2019/nibrs.xsd`` is used). Nothing is fetched from the network: every schema the
    IEPD imports lies beside it.
    """

    def __init__(self, schema_path: str | Path) -> None:
        path = Path(schema_path)
        if path.is_dir():
            path = path / NIBRS_SCHEMA_RELATIVE_PATH
        if not path.is_file():
            raise FileNotFoundError(f"no NIBRS schema at {path}: give nibrs.xsd or the folder of the IEPD 2019.1")
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        self.path = path
        self._schema = etree.XMLSchema(etree.parse(str(path), parser))
        self._parser = etree.XMLParser(no_network=True, resolve_entities=False)

    def errors(self, document: bytes) -> list[str]:
        """The schema errors of one document (``line: message``); empty when it validates."""
        try:
            tree = etree.fromstring(document, self._parser)
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed XML: {exc}"]
        if self._schema.validate(tree):
            return []
        return [f"{error.line}: {error.message}" for error in self._schema.error_log]

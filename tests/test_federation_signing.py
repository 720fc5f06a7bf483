"""Signed requests between instances (Ed25519), this instance's key, and the partner registry."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from intel_support import make_agency, make_user
from sqlalchemy import Engine, select
from store_support import core_for
from typer.testing import CliRunner

from openilp.cli import app, common
from openilp.db import session_scope
from openilp.db.models import AuditEntry
from openilp.security.federation import (
    HEADER_DATE,
    HEADER_KEY_ID,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_USER,
    SignatureRefused,
    check_date,
    generate_private_key,
    key_id_of,
    parse_signed_headers,
    public_key_text,
    sign_request,
    verify_signature,
)
from openilp.services.federation import (
    FederationError,
    PartnerRequest,
    add_partner,
    generate_instance_key,
    list_partners,
    read_instance_key,
    remove_partner,
)

NOW = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)
PATH = "/federation/v1/search?x=1"
BODY = b'{"kind":"person","query":"Johnny"}'


def _signed(**changes: str) -> tuple[str, dict[str, str]]:
    key = generate_private_key()
    headers = sign_request(key, "POST", PATH, BODY, user="ana (SLMPD)", now=NOW, nonce="nonce-1")
    headers.update(changes)
    return public_key_text(key), headers


def test_a_signed_request_verifies_and_any_change_breaks_it() -> None:
    public, headers = _signed()
    verify_signature(public, "POST", PATH, BODY, parse_signed_headers(headers))
    with pytest.raises(SignatureRefused, match="digest"):
        verify_signature(public, "POST", PATH, BODY + b" ", parse_signed_headers(headers))
    for method, path in (("GET", PATH), ("POST", "/federation/v1/search?x=2"), ("POST", "/federation/v1/notices")):
        with pytest.raises(SignatureRefused, match="does not verify"):
            verify_signature(public, method, path, BODY, parse_signed_headers(headers))
    for header, value in (
        (HEADER_DATE, "2026-12-06T03:00:01Z"),
        (HEADER_NONCE, "nonce-2"),
        (HEADER_USER, "someone else (SLMPD)"),
    ):
        with pytest.raises(SignatureRefused, match="does not verify"):
            verify_signature(public, "POST", PATH, BODY, parse_signed_headers({**headers, header: value}))
    other = public_key_text(generate_private_key())
    with pytest.raises(SignatureRefused, match="does not verify"):
        verify_signature(other, "POST", PATH, BODY, parse_signed_headers(headers))


def test_missing_headers_and_dates_outside_the_window_are_refused() -> None:
    _, headers = _signed()
    for header in (HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_DATE):
        partial = {k: v for k, v in headers.items() if k != header}
        with pytest.raises(SignatureRefused, match=f"no {header}"):
            parse_signed_headers(partial)
    assert check_date("2026-12-06T03:05:00Z", NOW, 300) == NOW + dt.timedelta(minutes=5)
    with pytest.raises(SignatureRefused, match="301 s"):
        check_date("2026-12-06T03:05:01Z", NOW, 300)
    with pytest.raises(SignatureRefused, match="ISO 8601"):
        check_date("Sun, 06 Dec 2026 03:00:00 GMT", NOW, 300)
    with pytest.raises(SignatureRefused, match="line break"):
        sign_request(generate_private_key(), "POST", "/a\nb", b"", user="u", now=NOW)


def test_the_key_id_is_the_public_keys_fingerprint() -> None:
    key = generate_private_key()
    headers = sign_request(key, "POST", PATH, BODY, user="u", now=NOW)
    assert headers[HEADER_KEY_ID] == key_id_of(public_key_text(key))
    assert len(headers[HEADER_KEY_ID]) == 32 and len(public_key_text(key)) == 43


def test_keygen_writes_an_owner_only_key_and_refuses_to_replace_it(engine: Engine, tmp_path: Path) -> None:
    core = core_for(engine, tmp_path)
    made = generate_instance_key(core)
    path = Path(made.path)
    assert path == tmp_path / "federation_ed25519.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_instance_key(core).public_key == made.public_key
    with pytest.raises(FederationError, match="already exists"):
        generate_instance_key(core)
    replaced = generate_instance_key(core, replace=True)
    assert replaced.key_id != made.key_id and stat.S_IMODE(path.stat().st_mode) == 0o600
    configured = core_for(engine, tmp_path, federation_key_file=str(tmp_path / "keys" / "instance.pem"))
    assert Path(generate_instance_key(configured).path) == tmp_path / "keys" / "instance.pem"
    with session_scope(engine) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action == "federation_keygen")).all()
    assert len(actions) == 3


def test_partner_registry_validates_audits_and_removes(engine: Engine, tmp_path: Path) -> None:
    core = core_for(engine, tmp_path)
    key = public_key_text(generate_private_key())
    request = PartnerRequest("County", "https://county.example/", key, ("STLCO",), ("metro",), "MOU 2026/12")
    partner = add_partner(core, None, request)
    assert (partner.name, partner.base_url, partner.key_id) == ("county", "https://county.example", key_id_of(key))
    assert [p.name for p in list_partners(core, None)] == ["county"]
    for bad, message in (
        (PartnerRequest("x y", "https://a.example", key, ("A",), (), "MOU"), "name"),
        (PartnerRequest("a", "ftp://a.example", key, ("A",), (), "MOU"), "base URL"),
        (PartnerRequest("a", "https://a.example", "not-a-key", ("A",), (), "MOU"), "Ed25519"),
        (PartnerRequest("a", "https://a.example", key, (), (), "MOU"), "agency code"),
        (
            PartnerRequest("a", "https://a.example", public_key_text(generate_private_key()), ("A",), (), ""),
            "agreement",
        ),
        (PartnerRequest("other", "https://a.example", key, ("A",), (), "MOU"), "already signs"),
    ):
        with pytest.raises(FederationError, match=message):
            add_partner(core, None, bad)
    removed = remove_partner(core, None, "county")
    assert not removed.active and list_partners(core, None) == ()
    assert [p.name for p in list_partners(core, None, include_removed=True)] == ["county"]
    with pytest.raises(FederationError, match="no active partner"):
        remove_partner(core, None, "county")
    with session_scope(engine) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("federation_partner_%"))).all()
    assert [e.action for e in entries] == ["federation_partner_add", "federation_partner_remove"]
    assert json.loads(entries[0].details)["agreement"] == "MOU 2026/12"


def test_the_command_line_makes_the_key_and_keeps_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENILP_DATABASE_URL", raising=False)
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()
    runner = CliRunner()
    try:
        made = runner.invoke(app, ["federation", "keygen", "--json"])
        assert made.exit_code == 0, made.output
        key = json.loads(made.output)
        assert stat.S_IMODE(Path(key["path"]).stat().st_mode) == 0o600
        again = runner.invoke(app, ["federation", "keygen"])
        assert again.exit_code == 1 and "already exists" in again.output
        shown = runner.invoke(app, ["federation", "key", "--json"])
        assert json.loads(shown.output)["key_id"] == key["key_id"]
        partner_key = public_key_text(generate_private_key())
        added = runner.invoke(
            app,
            ["federation", "partner", "add", "county", "--url", "http://127.0.0.1:9", "--public-key", partner_key]
            + ["--agency", "STLCO", "--group", "metro", "--agreement", "MOU 2026/12"],
        )
        assert added.exit_code == 0, added.output
        listed = runner.invoke(app, ["federation", "partner", "list", "--json"])
        assert [p["name"] for p in json.loads(listed.output)] == ["county"]
        assert json.loads(listed.output)[0]["agency_codes"] == ["STLCO"]
        assert runner.invoke(app, ["federation", "partner", "remove", "county"]).exit_code == 0
        assert json.loads(runner.invoke(app, ["federation", "partner", "list", "--json"]).output) == []
        with session_scope(common.engine()) as session:
            make_agency(session, "CITY")
            make_user(session, "ana", "analyst", agency="CITY")
        searched = runner.invoke(app, ["federation", "search", "Johnny", "--user", "ana", "--purpose", "case CT-7"])
        assert searched.exit_code == 0 and "0 answer(s) from 0 partner(s)" in searched.output
        no_purpose = runner.invoke(app, ["federation", "search", "Johnny", "--user", "ana", "--purpose", " "])
        assert no_purpose.exit_code == 1 and "purpose" in no_purpose.output
    finally:
        for cached in (common.settings, common.engine, common.core):
            cached.cache_clear()

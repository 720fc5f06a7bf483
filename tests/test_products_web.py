"""Products in the web app: the page ``/products`` and the JSON API, on real St. Louis data.

A CompStat pack of district 3 for the week of 2019-06-03 is made once per backend from the page's
form, then listed, downloaded as PDF and HTML (each download in the dissemination log, audited)
and built again through the API. Officers read and download but do not make products; a partner
sees nothing; the kinds that hold intelligence are not made here. Analysts send a version from the
page and the API, by e-mail to a local SMTP sink or to the agency's products folder of the
settings, never to a path the request names; a failed delivery is a 502, shown and logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BACKENDS, _postgres_engine, _truncate_postgres, shared_file
from fastapi.testclient import TestClient
from markupsafe import escape
from products_support import SmtpSink
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from store_support import import_source
from web_support import csrf_from, login, make_client, seed_agency, seed_user

from openilp.db import make_engine, migrate
from openilp.db.models import AuditEntry
from openilp.db.product_models import Product, ProductDissemination
from openilp.ingest.spec import load_source_spec
from openilp.intel.markings import TLP_ONWARD

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """St. Louis, May and June 2019, with an analyst, an officer and a partner."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('products-web') / 'openilp.sqlite3'}")
        migrate(engine)
    else:
        engine = _postgres_engine()
        _truncate_postgres(engine)
    files = [shared_file("stlouis", "monthly", "2019", f"{m}2019.csv") for m in ("may", "june")]
    import_source(engine, load_source_spec("stlouis"), files)
    for role in ("analyst", "officer", "partner"):
        seed_user(engine, f"products-{role}", role=role)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


def audited(engine: Engine, product_id: int) -> list[tuple[str, str | None]]:
    """``(action, actor_username)`` of the audit entries about product ``product_id``, oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor_username)
            .where(AuditEntry.object_type == "product", AuditEntry.object_id == str(product_id))
            .order_by(AuditEntry.seq)
        ).all()
    return [(str(a), u) for a, u in rows]


@pytest.fixture(scope="module")
def made(store: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, int]:
    """The analyst's client, and the id of the pack made from the page's form."""
    client = make_client(store, tmp_path_factory.mktemp("web"))
    assert login(client, "products-analyst").status_code == 303
    page = client.get("/products")
    assert page.status_code == 200 and 'id="compstat-form"' in page.text
    response = client.post(
        "/products/compstat",
        data={"csrf_token": csrf_from(page.text), "district": "3", "week": "2019-06-03"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/products?made=")
    return client, int(response.headers["location"].split("=")[1])


def test_the_page_makes_a_pack_audited_and_listed(store: Engine, made: tuple[TestClient, int]) -> None:
    client, product_id = made
    with Session(store) as session:
        row = session.get(Product, product_id)
        assert row is not None and row.kind == "compstat" and row.version == 1 and row.pdf_pages > 0
    assert ("produce", "products-analyst") in audited(store, product_id)
    listed = {p["product_id"]: p for p in client.get("/api/v1/products").json()["products"]}
    entry = listed[product_id]
    assert entry["kind"] == "compstat" and entry["produced_by"] == "products-analyst"
    assert entry["parameters"]["district"] == "3" and entry["parameters"]["week"] == "2019-06-03"
    assert entry["tlp"] == row.tlp and entry["data_cutoff"] is not None
    page = client.get(f"/products?made={product_id}").text
    assert row.title in page and f"/api/v1/products/{product_id}.pdf" in page and 'href="/products"' in page


def test_downloads_are_in_the_dissemination_log(store: Engine, made: tuple[TestClient, int]) -> None:
    client, product_id = made
    pdf = client.get(f"/api/v1/products/{product_id}.pdf", params={"reason": "Command meeting, district 3"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert f"compstat-{product_id}-" in pdf.headers["content-disposition"]
    html = client.get(f"/api/v1/products/{product_id}.html")
    assert html.status_code == 200 and "<html" in html.text.lower()
    with Session(store) as session:
        rows = session.scalars(
            select(ProductDissemination)
            .where(ProductDissemination.product_id == product_id)
            .order_by(ProductDissemination.id)
        ).all()
        assert [(r.channel, r.status, r.reason) for r in rows[-2:]] == [
            ("download", "delivered", "Command meeting, district 3"),
            ("download", "delivered", "Read in the web app"),
        ]
        assert "products-analyst" in rows[-1].recipient and rows[-1].tlp
    assert audited(store, product_id).count(("send", "products-analyst")) == 2


def test_a_stored_version_is_built_again_with_the_same_numbers(made: tuple[TestClient, int]) -> None:
    client, product_id = made
    response = client.post(f"/api/v1/products/{product_id}/rerender")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["original_id"] == product_id and body["same_numbers"] is True
    assert body["product"]["version"] == 2 and body["product"]["product_id"] != product_id


def test_kinds_holding_intelligence_are_not_made_here(made: tuple[TestClient, int]) -> None:
    client, _ = made
    response = client.post("/api/v1/products/safety_alert", json={})
    assert response.status_code == 400 and "openilp products" in response.json()["detail"]
    bad = client.post("/api/v1/products/compstat", json={"district": "3", "week": "June"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["detail"]


def test_officers_read_but_do_not_make_and_partners_see_nothing(
    store: Engine, made: tuple[TestClient, int], tmp_path: Path
) -> None:
    _, product_id = made
    officer = make_client(store, tmp_path / "officer")
    assert login(officer, "products-officer").status_code == 303
    page = officer.get("/products")
    assert page.status_code == 200 and 'id="compstat-form"' not in page.text and "Build again" not in page.text
    assert product_id in [p["product_id"] for p in officer.get("/api/v1/products").json()["products"]]
    assert officer.get(f"/api/v1/products/{product_id}.html").status_code == 200
    assert officer.post("/api/v1/products/compstat", json={"district": "3", "week": "2019-06-03"}).status_code == 403
    assert officer.post(f"/api/v1/products/{product_id}/rerender").status_code == 403
    partner = make_client(store, tmp_path / "partner")
    assert login(partner, "products-partner").status_code == 303
    assert partner.get("/api/v1/products").status_code == 403
    assert partner.get("/products").status_code == 403
    assert partner.get(f"/api/v1/products/{product_id}.pdf").status_code == 403
    assert 'href="/products"' not in partner.get("/").text


def test_a_refused_form_comes_back_filled_in_with_the_reason(made: tuple[TestClient, int]) -> None:
    client, _ = made
    page = client.get("/products")
    response = client.post(
        "/products/compstat", data={"csrf_token": csrf_from(page.text), "district": "3", "week": "June 3rd"}
    )
    assert response.status_code == 400
    assert 'id="product-error"' in response.text and "YYYY-MM-DD" in response.text
    assert 'name="district" required maxlength="50" value="3"' in response.text
    wrong = client.post("/products/safety_alert", data={"csrf_token": csrf_from(page.text)})
    assert wrong.status_code == 400 and "openilp products" in wrong.text


def sender(store: Engine, tmp_path: Path, sink_port: int, username: str = "products-analyst") -> TestClient:
    """A client of ``username`` whose app mails through the sink and sends to ``tmp_path/folders/{agency}``."""
    client = make_client(
        store,
        tmp_path / f"app-{username}",
        smtp_host="127.0.0.1",
        smtp_port=sink_port,
        smtp_sender="cau@slmpd.test",
        products_folder=str(tmp_path / "folders" / "{agency}"),
    )
    assert login(client, username).status_code == 303
    return client


def sendings(store: Engine, product_id: int) -> list[ProductDissemination]:
    with Session(store) as session:
        return list(
            session.scalars(
                select(ProductDissemination)
                .where(ProductDissemination.product_id == product_id, ProductDissemination.channel != "download")
                .order_by(ProductDissemination.id)
            ).all()
        )


def test_the_page_and_the_api_send_by_email_logged_and_audited(
    store: Engine, made: tuple[TestClient, int], tmp_path: Path
) -> None:
    _, product_id = made
    with Session(store) as session:
        row = session.get(Product, product_id)
        assert row is not None
        tlp, title = row.tlp, row.title
    before = audited(store, product_id).count(("send", "products-analyst"))
    with SmtpSink() as sink:
        client = sender(store, tmp_path, sink.port)
        page = client.get("/products")
        assert f'id="send-form-{product_id}"' in page.text
        who = page.text.split(f'id="who-will-see-{product_id}"')[1].split("</p>")[0]
        assert tlp in who and str(escape(TLP_ONWARD[tlp])) in who
        assert '<option value="file"' not in page.text and '<option value="folder"' in page.text
        response = client.post(
            f"/products/{product_id}/send",
            data={
                "csrf_token": csrf_from(page.text),
                "channel": "email",
                "recipient": "captain.d3@slmpd.test",
                "reason": "Weekly command meeting",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == f"/products?sent={product_id}"
        assert 'id="product-sent"' in client.get(response.headers["location"]).text
        api = client.post(
            f"/api/v1/products/{product_id}/send",
            json={"channel": "email", "recipient": "lt.d3@slmpd.test; sgt.d3@slmpd.test", "reason": "Patrol briefing"},
        )
        assert api.status_code == 200, api.text
        assert api.json()["status"] == "delivered" and api.json()["channel"] == "email"
        messages = sink.wait(2)
    assert len(messages) == 2
    assert [m["To"] for m in messages] == ["captain.d3@slmpd.test", "lt.d3@slmpd.test, sgt.d3@slmpd.test"]
    assert all(m["Subject"].startswith(f"[{tlp}] {title}") for m in messages)
    pdfs = [p for m in messages for p in m.walk() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 2 and all(p.get_payload(decode=True).startswith(b"%PDF") for p in pdfs)
    log = sendings(store, product_id)[-2:]
    assert [(e.channel, e.status, e.reason, e.tlp) for e in log] == [
        ("email", "delivered", "Weekly command meeting", tlp),
        ("email", "delivered", "Patrol briefing", tlp),
    ]
    assert log[1].recipient == "lt.d3@slmpd.test, sgt.d3@slmpd.test" and api.json()["dissemination_id"] == log[1].id
    assert audited(store, product_id).count(("send", "products-analyst")) == before + 2


def test_the_folder_channel_writes_only_the_agency_folder_of_the_settings(
    store: Engine, made: tuple[TestClient, int], tmp_path: Path
) -> None:
    _, product_id = made
    folder = tmp_path / "folders" / "SLMPD"
    assert not folder.parent.exists()  # created, with its parent, by the first sending
    client = sender(store, tmp_path, 9)
    api = client.post(f"/api/v1/products/{product_id}/send", json={"channel": "folder", "reason": "Command archive"})
    assert api.status_code == 200, api.text
    assert api.json()["recipient"] == "your agency's products folder"
    page = client.get("/products")
    form = client.post(
        f"/products/{product_id}/send",
        data={"csrf_token": csrf_from(page.text), "channel": "folder", "recipient": "", "reason": "Command archive"},
        follow_redirects=False,
    )
    assert form.status_code == 303
    written = list(folder.iterdir())
    assert len(written) == 1 and written[0].name.startswith(f"compstat-{product_id}-")
    assert written[0].read_bytes().startswith(b"%PDF")
    assert [oct(path.stat().st_mode & 0o777) for path in (folder, folder.parent)] == ["0o750", "0o750"]
    log = sendings(store, product_id)[-2:]
    assert [(e.channel, e.recipient, e.status) for e in log] == [("folder", str(folder), "delivered")] * 2


def test_a_path_in_the_request_is_refused_and_nothing_is_written(
    store: Engine, made: tuple[TestClient, int], tmp_path: Path
) -> None:
    _, product_id = made
    (tmp_path / "folders" / "SLMPD").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    client = sender(store, tmp_path, 9)
    logged = len(sendings(store, product_id))
    for body in (
        {"channel": "folder", "recipient": str(elsewhere), "reason": "Command archive"},
        {"channel": "folder", "recipient": "../elsewhere", "reason": "Command archive"},
        {"channel": "file", "recipient": str(elsewhere / "pack.pdf"), "reason": "Command archive"},
    ):
        response = client.post(f"/api/v1/products/{product_id}/send", json=body)
        assert response.status_code == 400, body
        assert "path" in response.json()["detail"] or "command line" in response.json()["detail"]
    page = client.get("/products")
    form = client.post(
        f"/products/{product_id}/send",
        data={"csrf_token": csrf_from(page.text), "channel": "file", "recipient": "/tmp/pack.pdf", "reason": "Archive"},
    )
    assert form.status_code == 400 and "Not sent" in form.text and "command line" in form.text
    assert list(elsewhere.iterdir()) == [] and list((tmp_path / "folders" / "SLMPD").iterdir()) == []
    assert len(sendings(store, product_id)) == logged
    unconfigured = make_client(store, tmp_path / "plain")
    assert login(unconfigured, "products-analyst").status_code == 303
    refused = unconfigured.post(f"/api/v1/products/{product_id}/send", json={"channel": "folder", "reason": "Archive"})
    assert refused.status_code == 400 and "products_folder" in refused.json()["detail"]
    plain_page = unconfigured.get("/products").text
    assert f'id="send-form-{product_id}"' not in plain_page and "Sending is not configured" in plain_page


def test_a_failed_delivery_is_a_502_shown_on_the_page_and_logged(
    store: Engine, made: tuple[TestClient, int], tmp_path: Path
) -> None:
    _, product_id = made
    with SmtpSink() as sink:
        closed_port = sink.port
    client = sender(store, tmp_path, closed_port)  # nobody listens there now
    (tmp_path / "folders").write_text("a file where the agency folder's parent should be")
    api = client.post(
        f"/api/v1/products/{product_id}/send",
        json={"channel": "email", "recipient": "captain.d3@slmpd.test", "reason": "Weekly command meeting"},
    )
    assert api.status_code == 502 and "was not delivered" in api.json()["detail"]
    page = client.get("/products")
    form = client.post(
        f"/products/{product_id}/send",
        data={"csrf_token": csrf_from(page.text), "channel": "folder", "reason": "Command archive"},
    )
    assert form.status_code == 502 and "cannot be created" in form.text and "setting products_folder" in form.text
    assert f'id="send-form-{product_id}"' in form.text and "<details open>" in form.text
    log = sendings(store, product_id)[-2:]
    assert [(e.channel, e.status) for e in log] == [("email", "failed"), ("folder", "failed")]
    assert all(e.error for e in log)
    assert "(setting products_folder)" in log[1].error and "is not a folder" in log[1].error
    assert audited(store, product_id).count(("send_failed", "products-analyst")) >= 2


def test_only_senders_of_the_agency_send(store: Engine, made: tuple[TestClient, int], tmp_path: Path) -> None:
    _, product_id = made
    body = {"channel": "email", "recipient": "captain.d3@slmpd.test", "reason": "Weekly command meeting"}
    officer = sender(store, tmp_path, 9, "products-officer")
    assert officer.post(f"/api/v1/products/{product_id}/send", json=body).status_code == 403
    page = officer.get("/products")
    assert page.status_code == 200 and f'id="send-form-{product_id}"' not in page.text
    form = officer.post(f"/products/{product_id}/send", data={"csrf_token": csrf_from(page.text), **body})
    assert form.status_code == 403
    partner = sender(store, tmp_path, 9, "products-partner")
    assert partner.post(f"/api/v1/products/{product_id}/send", json=body).status_code == 403
    seed_agency(store, "STLCO")
    seed_user(store, "products-analyst-stlco", role="analyst", agency_code="STLCO")
    other = sender(store, tmp_path, 9, "products-analyst-stlco")
    assert other.post(f"/api/v1/products/{product_id}/send", json=body).status_code == 404
    other_page = other.get("/products")
    assert f'id="send-form-{product_id}"' not in other_page.text
    other_form = other.post(f"/products/{product_id}/send", data={"csrf_token": csrf_from(other_page.text), **body})
    assert other_form.status_code == 404
    assert ("send", "products-analyst-stlco") not in audited(store, product_id)

"""Intelligence products on real St. Louis data: the weekly CompStat pack of district 3, week of 2019-06-03.

The pack is rendered to PDF once per backend; its pages are turned into PNG images (pypdfium2) and
its text extracted (pypdf), and the numbers of its trend table are checked against
``openilp trends --by district --layout compstat --as-of 2019-06-09 --json`` on the same store. The
handling marking must be on every page. Sending writes the dissemination log, a failed sending too.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2
import pytest
from conftest import BACKENDS, _postgres_engine, _truncate_postgres, shared_file
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from store_support import add_user, core_for, import_source
from typer.testing import CliRunner

from openilp.cli import app, common
from openilp.core import OpenILP
from openilp.db import make_engine, migrate
from openilp.db.models import AuditEntry
from openilp.db.product_models import Product, ProductDissemination
from openilp.errors import NotPermitted
from openilp.ingest.spec import load_source_spec
from openilp.services.products.common import ProducedProduct, rerender
from openilp.services.products.compstat import CompStatPackRequest, compstat_pack
from openilp.services.products.delivery import DeliveryFailed, SendRequest, send_product

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

MONTHS_2018 = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
MONTHS_2019 = ("january", "february", "march", "april", "may", "june")
WEEK = dt.date(2019, 6, 3)
WEEK_END = "2019-06-09"
runner = CliRunner()


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """St. Louis, January 2018 to June 2019: the year to date and the same period last year."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('products') / 'openilp.sqlite3'}")
        migrate(engine)
    else:
        engine = _postgres_engine()
        _truncate_postgres(engine)
    files = [shared_file("stlouis", "monthly", "2018", f"{m}2018.csv") for m in MONTHS_2018]
    files += [shared_file("stlouis", "monthly", "2019", f"{m}2019.csv") for m in MONTHS_2019]
    import_source(engine, load_source_spec("stlouis"), files)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture(scope="module")
def pack(store: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[OpenILP, ProducedProduct]:
    core = core_for(store, tmp_path_factory.mktemp("core"))
    return core, compstat_pack(core, None, CompStatPackRequest("SLMPD", "3", WEEK))


@pytest.fixture
def cli_store(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENILP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENILP_DATABASE_URL", store.url.render_as_string(hide_password=False))
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()  # type: ignore[attr-defined]
    yield
    for cached in (common.settings, common.engine, common.core):
        cached.cache_clear()  # type: ignore[attr-defined]


def _page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _row_line(row: dict[str, Any], periods: tuple[str, ...] = ("week", "28d", "ytd")) -> str:
    """A trend row's cells as the PDF prints them (now, last year, change, z and the flag)."""
    cells = []
    for period in periods:
        cell = row["periods"].get(period)
        if cell is None:
            cells.append("– – – –")
            continue
        change = "–" if cell["change_pct"] is None else f"{cell['change_pct']:+.1f}%"
        flag = {"alert": " ▲▲", "watch": " ▲"}.get(cell["severity"], "")
        cells.append(f"{cell['current']} {cell['last_year']} {change} {cell['z']:+.2f}{flag}")
    return " ".join(cells)


def test_compstat_pack_numbers_equal_openilp_trends(pack: tuple[OpenILP, ProducedProduct], cli_store: None) -> None:
    """The must-show: district 3's trend table in the PDF is `openilp trends --json` for the same week."""
    _, produced = pack
    result = runner.invoke(
        app, ["trends", "--agency", "SLMPD", "--by", "district", "--layout", "compstat", "--as-of", WEEK_END, "--json"]
    )
    assert result.exit_code == 0, result.output
    cli_rows = [row for row in json.loads(result.output)["rows"] if row["area"] == "3"]
    assert len(cli_rows) >= 15
    assert produced.content["trend_rows"] == [{k: v for k, v in r.items() if k != "max_abs_z"} for r in cli_rows]
    text = "\n".join(_page_texts(produced.pdf))
    lines = text.splitlines()
    positions = []
    for row in cli_rows:  # the cells' line, after the category's label when it fits on the line
        expected = _row_line(row)
        found = [i for i, line in enumerate(lines) if line == expected or line.endswith(" " + expected)]
        assert found, f"{row['category']}: {expected!r} is not in the PDF"
        positions.append(found[0])
    assert positions == sorted(positions)  # in the service's order
    larceny = next(r for r in cli_rows if r["category"] == "larceny")
    assert larceny["periods"]["week"]["current"] == 31 and larceny["periods"]["ytd"]["current"] == 651
    week_total = sum(r["periods"]["week"]["current"] for r in cli_rows if "week" in r["periods"])
    assert f"{week_total} incidents recorded" in text.replace("\n", " ")


def test_compstat_pack_pages_render_and_carry_the_marking(pack: tuple[OpenILP, ProducedProduct]) -> None:
    """Every page turns into a PNG, and carries the TLP marking at its head and the caveat at its foot."""
    _, produced = pack
    assert produced.marking.tlp == "TLP:AMBER" and not produced.marking.criminal_intelligence
    document = pypdfium2.PdfDocument(produced.pdf)
    assert len(document) == produced.pdf_pages >= 3
    for index in range(len(document)):
        image = document[index].render(scale=100 / 72, grayscale=True).to_pil()
        assert image.size == (850, 1100)  # US Letter at 100 dpi
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        assert buffer.getvalue()[:4] == b"\x89PNG"
        darkest, lightest = image.convert("L").getextrema()
        assert darkest < 64 and lightest > 240  # text on paper, not a blank page
    texts = _page_texts(produced.pdf)
    for number, text in enumerate(texts, start=1):
        flat = " ".join(text.split())
        assert "TLP:AMBER · LAW ENFORCEMENT USE" in flat, number
        assert "No criminal intelligence (28 CFR Part 23) records" in flat, number
        assert f"Page {number} of {len(texts)}" in flat


def _structure(node: Any, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(role, alt text) of every element of a tagged PDF's structure tree, depth first."""
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, pypdf.generic.DictionaryObject):
        if "/S" in node:
            found.append((str(node["/S"]), str(node.get("/Alt", ""))))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, pypdf.generic.ArrayObject) else [kids] if kids is not None else []:
            _structure(kid, found)
    return found


def test_compstat_pack_is_accessible(pack: tuple[OpenILP, ProducedProduct]) -> None:
    """Tagged PDF: headings, tables with header cells, and figures whose alt text describes them."""
    _, produced = pack
    catalog = pypdf.PdfReader(io.BytesIO(produced.pdf)).trailer["/Root"]
    assert bool(catalog["/MarkInfo"]["/Marked"])
    elements = _structure(catalog["/StructTreeRoot"], [])
    roles = [role for role, _ in elements]
    assert roles.count("/H1") == 1 and roles.count("/H2") >= 5
    assert roles.count("/Table") >= 2 and roles.count("/TH") >= 20
    figures = [alt for role, alt in elements if role == "/Figure"]
    assert len(figures) == 2
    assert figures[0].startswith("Map: District 3, 2019-06-03 to 2019-06-09. Shows ")
    assert figures[1].startswith("Chart: District 3: incidents per week. All incidents: ")


def test_pack_is_stored_versioned_and_rerenders_to_the_same_numbers(pack: tuple[OpenILP, ProducedProduct]) -> None:
    core, produced = pack
    with Session(core.engine) as session:
        row = session.get(Product, produced.product_id)
        assert row is not None
        assert json.loads(row.parameters) == {
            "agency_code": "SLMPD",
            "district": "3",
            "week": "2019-06-03",
            "near_repeat_categories": ["burglary"],
        }
        assert row.data_cutoff is not None and row.tlp == "TLP:AMBER" and row.pdf_pages == produced.pdf_pages
    again = rerender(core, None, produced.product_id)
    assert again.same_numbers and again.changed == ()
    assert again.product.version == produced.version + 1
    assert again.product.content_sha256 == produced.content_sha256
    with Session(core.engine) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "product")).all()
    assert actions.count("produce") >= 2


def test_sending_writes_the_dissemination_log_and_failures_are_reported(
    pack: tuple[OpenILP, ProducedProduct], tmp_path: Path
) -> None:
    core, produced = pack
    sent = send_product(
        core, None, SendRequest(produced.product_id, "folder", str(tmp_path), "command meeting"), pdf=produced.pdf
    )
    written = Path(sent.path)
    assert written.parent == tmp_path and written.read_bytes() == produced.pdf
    missing = tmp_path / "no-such-folder"
    with pytest.raises(DeliveryFailed, match="does not exist"):
        send_product(core, None, SendRequest(produced.product_id, "folder", str(missing), "command meeting"))
    with Session(core.engine) as session:
        log = session.scalars(
            select(ProductDissemination).where(ProductDissemination.product_id == produced.product_id)
        ).all()
        audited = session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "product")).all()
    by_recipient = {entry.recipient: entry for entry in log}
    assert by_recipient[str(tmp_path)].status == "delivered"
    assert by_recipient[str(missing)].status == "failed" and "does not exist" in by_recipient[str(missing)].error
    assert json.loads(by_recipient[str(tmp_path)].items) == list(produced.items)
    assert "send" in audited and "send_failed" in audited


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_pack_is_emailed_through_a_local_smtp_sink(pack: tuple[OpenILP, ProducedProduct], tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        messages: list[bytes] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
            self.messages.append(envelope.content)
            return "250 OK"

    core, produced = pack
    port = _free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = core_for(core.engine, tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_sender="cau@slmpd.test")
        request = SendRequest(produced.product_id, "email", "captain.d3@slmpd.test", "weekly command meeting")
        send_product(mailer, None, request, pdf=produced.pdf)
        for _ in range(50):
            if sink.messages:
                break
            time.sleep(0.1)
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    message = message_from_bytes(sink.messages[0])
    assert message["Subject"].startswith("[TLP:AMBER] CompStat: District 3, week of 2019-06-03")
    assert message["To"] == "captain.d3@slmpd.test"
    attachments = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
    assert len(attachments) == 1 and attachments[0].get_payload(decode=True) == produced.pdf
    # Nobody listening: the failure is logged and raised.
    closed = core_for(core.engine, tmp_path, smtp_host="127.0.0.1", smtp_port=_free_port(), smtp_sender="cau@x.test")
    with pytest.raises(DeliveryFailed, match="not delivered"):
        send_product(closed, None, request, pdf=produced.pdf)


def test_officers_may_not_produce_products(pack: tuple[OpenILP, ProducedProduct]) -> None:
    core, _ = pack
    with Session(core.engine) as session:
        officer = add_user(session, "officer.products", "correct horse battery", "officer", "SLMPD")
        session.commit()
    with pytest.raises(NotPermitted, match="products:produce"):
        compstat_pack(core, officer, CompStatPackRequest("SLMPD", "3", WEEK))


def test_cli_writes_the_pack_and_logs_it(cli_store: None, tmp_path: Path) -> None:
    target = tmp_path / "pack.pdf"
    result = runner.invoke(
        app,
        ["products", "compstat", "--agency", "SLMPD", "--district", "3", "--week", "2019-06-03", "-o", str(target)],
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:5] == b"%PDF-"
    assert "TLP:AMBER" in result.output and str(target) in result.output
    result = runner.invoke(app, ["products", "compstat", "--district", "99", "--week", "2019-06-03", "-o", "x.pdf"])
    assert result.exit_code == 1 and "district '99'" in result.output


def test_the_pack_lists_the_open_problems_of_the_district(pack: tuple[OpenILP, ProducedProduct]) -> None:
    """A problem on one of district 3's neighbourhoods is listed with the dashboard's progress; one elsewhere is not."""
    from openilp.core.boundaries import BoundaryRegistry
    from openilp.services.problems import (
        OpenProblemRequest,
        ProgressRequest,
        StageRequest,
        goal_progress,
        open_problem,
        set_stage,
    )

    core, produced = pack
    assert produced.content["open_problems"] == []  # none opened yet
    layer = BoundaryRegistry.default().layer_for("SLMPD")
    assert layer is not None
    features = {str(f["properties"]["NHD_NUM"]): f for f in json.loads(layer.path.read_text())["features"]}
    inside = produced.content["neighbourhoods"][0]
    outside = next(code for code in features if code not in produced.content["neighbourhoods"] and code in ("1", "2"))
    with Session(core.engine) as session:
        analyst = add_user(session, "analyst.problems", "correct horse battery", "analyst", "SLMPD")
        session.commit()
    opened = {}
    for code in (inside, outside):
        request = OpenProblemRequest(
            title=f"Burglary in neighbourhood {code}",
            categories=["burglary"],
            target_reduction_pct=20.0,
            baseline_start=dt.date(2018, 6, 4),
            evaluation_start=dt.date(2019, 3, 4),
            evaluation_end=dt.date(2019, 8, 31),
            area=features[code]["geometry"],
            area_name=str(features[code]["properties"]["NHD_NAME"]),
        )
        opened[code] = open_problem(core, analyst, request).id
    try:
        again = compstat_pack(core, None, CompStatPackRequest("SLMPD", "3", WEEK))
    finally:  # closed problems leave the pack: the other tests' versions keep their numbers
        for pid in opened.values():
            set_stage(core, analyst, StageRequest(pid, "closed", "test over"))
    listed = again.content["open_problems"]
    assert [p["id"] for p in listed] == [opened[inside]]
    expected = goal_progress(core, analyst, ProgressRequest(opened[inside], today=dt.date(2019, 6, 9))).as_dict()
    assert listed[0]["progress"] == expected and expected["status"] in {"goal met", "improving", "not improving"}
    text = " ".join(" ".join(_page_texts(again.pdf)).split())
    assert f"Burglary in neighbourhood {inside}" in text and f"Burglary in neighbourhood {outside}" not in text
    assert f"{expected['current_count']} {expected['expected_count']} {expected['change_pct']:+.1f}% -20%" in text

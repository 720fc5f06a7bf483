"""Malformed requests get a 4xx naming the problem, never a 500.

Found by probing every route of the OpenAPI schema: a non-JSON Content-Type on a JSON endpoint
(the validation error's ``input`` was bytes and could not be serialised), ids beyond 64 bits
(``OverflowError`` in the driver), the first and last representable days (``OverflowError`` at
the first day added), a lone surrogate in JSON text (``UnicodeEncodeError`` when stored). And a
tip's text must never reach the server log, not even through a failed request.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from annotated_types import Le, Lt
from fastapi import routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine
from web_support import IncidentSpec, login, make_client, seed_agency, seed_incidents, seed_user

from openilp.web.app import create_app
from openilp.web.params import MAX_ID

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

TOO_BIG = str(2**64)
PROBLEM = {
    "title": "Burglary downtown",
    "categories": ["burglary"],
    "target_reduction_pct": 20,
    "baseline_start": "2019-01-01",
    "evaluation_start": "2019-07-01",
    "evaluation_end": "2019-12-31",
    "area": {
        "type": "Polygon",
        "coordinates": [[[-90.21, 38.62], [-90.19, 38.62], [-90.19, 38.64], [-90.21, 38.64], [-90.21, 38.62]]],
    },
}


def _flat_routes(routes: list[Any]) -> Iterator[APIRoute]:
    flatten = getattr(routing, "iter_route_contexts", None)
    for route in flatten(routes) if flatten is not None else routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute):
            yield original


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    return any(arg is int for arg in typing.get_args(annotation))


def _bounded(metadata: list[Any]) -> bool:
    return any((isinstance(m, Le) and m.le <= MAX_ID) or (isinstance(m, Lt) and m.lt <= MAX_ID + 1) for m in metadata)


def _model_fields(model: type[BaseModel], where: str) -> Iterator[tuple[str, Any, list[Any]]]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        yield f"{where}.{name}", annotation, list(info.metadata)
        for arg in (annotation, *typing.get_args(annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _model_fields(arg, f"{where}.{name}")


def _parameters(route: APIRoute) -> Iterator[tuple[str, Any, list[Any]]]:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        pending.extend(dependant.dependencies)
        for kind in ("path_params", "query_params", "header_params", "cookie_params", "body_params"):
            for field in getattr(dependant, kind):
                info = field.field_info
                annotation = info.annotation
                yield field.name, annotation, list(info.metadata)
                for arg in (annotation, *typing.get_args(annotation)):
                    if isinstance(arg, type) and issubclass(arg, BaseModel):
                        yield from _model_fields(arg, field.name)


def test_every_integer_parameter_is_bounded_to_64_bits(tmp_path: Path, sqlite_engine: Engine) -> None:
    app = create_app(make_client(sqlite_engine, tmp_path).app.state.openilp.core)  # type: ignore[attr-defined]
    unbounded = sorted(
        {
            f"{sorted(route.methods)[0]} {route.path}: {name}"
            for route in _flat_routes(app.routes)
            for name, annotation, metadata in _parameters(route)
            if _is_int(annotation) and not _bounded(metadata)
        }
    )
    assert unbounded == [], "integer parameters without an upper bound (use openilp.web.params.Id):\n" + "\n".join(
        unbounded
    )


@pytest.fixture
def analyst(engine: Engine, tmp_path: Path) -> TestClient:
    seed_agency(engine)
    seed_user(engine, "ana", "analyst")
    seed_incidents(
        engine, "SLMPD", [IncidentSpec("burglary", dt.datetime(2024, 1, day, 12, tzinfo=dt.UTC)) for day in (1, 2, 3)]
    )
    client = make_client(engine, tmp_path)
    client = TestClient(client.app, raise_server_exceptions=False)
    assert login(client, "ana").status_code == 303
    assert client.post("/api/v1/problems", json=PROBLEM).json()["id"] == 1
    return client


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", f"/api/v1/intel/records/{TOO_BIG}/read"),
        ("GET", f"/api/v1/problems/{TOO_BIG}"),
        ("GET", f"/api/v1/problems/{TOO_BIG}/map.geojson"),
        ("POST", f"/api/v1/problems/{TOO_BIG}/power"),
        ("DELETE", f"/api/v1/problems/{TOO_BIG}/interventions/{TOO_BIG}"),
        ("GET", f"/api/v1/series/{TOO_BIG}"),
        ("GET", f"/api/v1/series/similar?incident_id={TOO_BIG}"),
        ("GET", f"/api/v1/problems/1/attachments/{TOO_BIG}"),
    ],
)
def test_ids_beyond_64_bits_are_refused(analyst: TestClient, method: str, path: str) -> None:
    response = analyst.request(method, path)
    assert response.status_code == 422, response.text
    assert "less than or equal to 9223372036854775807" in response.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize(
    "path, field",
    [
        ("/api/v1/incidents.geojson?date_to={day}", "date_to"),
        ("/api/v1/incidents.geojson?date_from={day}", "date_from"),
        ("/api/v1/problems/scan?as_of={day}", "as_of"),
        ("/api/v1/series/possible?as_of={day}", "as_of"),
    ],
)
def test_days_at_the_ends_of_the_calendar_are_refused_naming_the_field(
    analyst: TestClient, path: str, field: str, day: str
) -> None:
    response = analyst.get(path.format(day=day))
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(f"{field} must be a day from 1900-01-01 to 2199-12-31")


JSON_ENDPOINTS = [
    ("POST", "/api/v1/intel/records"),
    ("POST", "/api/v1/problems"),
    ("PATCH", "/api/v1/problems/1"),
    ("POST", "/api/v1/problems/1/notes"),
    ("POST", "/api/v1/public/tips"),
    ("POST", "/api/v1/public/tips/read"),
]


@pytest.mark.parametrize("method, path", JSON_ENDPOINTS)
def test_a_json_endpoint_refuses_other_content_types(analyst: TestClient, method: str, path: str) -> None:
    response = analyst.request(method, path, content=b'{"narrative": "x"}', headers={"content-type": "text/plain"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["input"] == '{"narrative": "x"}'


@pytest.mark.parametrize("method, path", JSON_ENDPOINTS)
def test_a_lone_surrogate_in_json_is_refused(analyst: TestClient, method: str, path: str) -> None:
    fields = {"narrative", "title", "body", "tip_id"} if method == "POST" else {"title"}
    body = "{" + ", ".join(f'"{name}": "a \\ud800 b"' for name in sorted(fields)) + "}"
    response = analyst.request(method, path, content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert "unicode" in response.text.lower()


def test_echoed_input_is_capped(analyst: TestClient) -> None:
    big = "x" * 100_000
    response = analyst.post("/api/v1/problems", content=big.encode(), headers={"content-type": "text/plain"})
    assert response.status_code == 422
    assert len(response.content) < 2_000
    assert response.json()["errors"][0]["input"] == "x" * 200 + "…"


def test_no_tip_text_reaches_the_log(
    analyst: TestClient, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    narrative = "the blue van parked behind 4100 Shenandoah every night"
    public = TestClient(analyst.app, raise_server_exceptions=False)
    caplog.set_level(logging.DEBUG)
    for body, content_type in [
        (f'{{"narrative": "{narrative}"}}'.encode(), "text/plain"),
        (f'{{"narrative": "{narrative} \\ud800", "agency": "SLMPD"}}'.encode(), "application/json"),
        (f'{{"narrative": "{narrative}", "agency": "{TOO_BIG}"}}'.encode(), "application/json"),
    ]:
        response = public.post("/api/v1/public/tips", content=body, headers={"content-type": content_type})
        assert response.status_code < 500, response.text
    assert "Shenandoah" not in caplog.text

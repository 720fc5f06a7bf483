"""Authorization matrix: every route of the app × {anonymous, each role} → expected status.

Routes are enumerated from ``app.routes``, so a new route fails this test until it is added to
:data:`MATRIX` with the status each kind of visitor must get.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web_support import IncidentSpec, login, make_client, seed_agency, seed_incidents, seed_user

from openilp.security.roles import ROLES
from openilp.web.app import route_table

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

INTERNAL = [r for r in ROLES if r != "partner"]
AUDIT_READERS = ["auditor", "administrator"]

#: Values substituted for path parameters.
PATH_PARAMS = {
    "record_id": "1",
    "tip_id": "T-0000-0000-0000-0000",
    "agency_code": "SLMPD",
    "problem_id": "1",
    "attachment_id": "1",
    "intervention_id": "1",
    "evaluation_id": "1",
    "role": "control",
    "agreement_id": "1",
    "username": "nobody",
    "series_id": "1",
    "entity_id": "1",
    "pair_id": "1",
    "job_id": "no-such-job",
    "designation_id": "1",
    "event_id": "1",
    "conflict_id": "1",
    "group_id": "1",
    "product_id": "1",
    "kind": "compstat",
}
#: A real file under each mount.
MOUNT_SAMPLES = {"/static": "/static/css/openilp.css"}


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _only(roles: list[str], allowed: int = 200, denied: int = 403) -> dict[str, int]:
    return {role: allowed if role in roles else denied for role in ROLES}


#: Law-enforcement roles, reviewers, and tip triage / dissemination roles (openilp.security.roles).
_LE = ["analyst", "officer", "supervisor", "reviewer"]
_REVIEW = ["supervisor", "reviewer"]
_TRIAGE = ["analyst", "supervisor", "reviewer"]
_REWARDS = ["supervisor", "administrator"]
_PROBLEM_WRITERS = ["analyst", "supervisor", "administrator"]
_SETTINGS = ["supervisor", "administrator"]
_PLANNERS = ["analyst", "supervisor"]
_DECONFLICT = ["officer", "analyst", "supervisor"]
_PRODUCERS = ["analyst", "supervisor"]
#: Who sends products (products:send): the same roles as make them.
_SENDERS = ["analyst", "supervisor"]


#: (method, path) -> {"anonymous": status, role: status, ...}.
#: POST forms are sent without a CSRF token: every signed-in visitor must get 403.
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/healthz"): {"anonymous": 200, **_everyone(200)},
    ("GET", "/static"): {"anonymous": 200, **_everyone(200)},
    ("GET", "/login"): {"anonymous": 200, **_everyone(303)},
    ("POST", "/login"): {"anonymous": 403, **_everyone(403)},
    ("POST", "/logout"): {"anonymous": 303, **_everyone(403)},
    # Second sign-in step: only a pending (password-checked) session gets the forms; anyone else is sent on.
    ("GET", "/login/totp"): {"anonymous": 303, **_everyone(303)},
    ("POST", "/login/totp"): {"anonymous": 403, **_everyone(403)},
    ("GET", "/login/totp/setup"): {"anonymous": 303, **_everyone(303)},
    ("POST", "/login/totp/setup"): {"anonymous": 403, **_everyone(403)},
    ("GET", "/audit"): {"anonymous": 303, **_only(AUDIT_READERS)},
    ("GET", "/api/v1/audit"): {"anonymous": 401, **_only(AUDIT_READERS)},
    ("GET", "/api/v1/audit/verify"): {"anonymous": 401, **_only(AUDIT_READERS)},
    ("GET", "/"): {"anonymous": 303, **_everyone(200)},
    ("GET", "/map"): {"anonymous": 303, **_only(INTERNAL)},
    ("GET", "/api/v1/me"): {"anonymous": 401, **_everyone(200)},
    ("GET", "/api/v1/categories"): {"anonymous": 401, **_everyone(200)},
    ("GET", "/api/v1/incidents.geojson"): {"anonymous": 401, **_only(INTERNAL)},
    ("GET", "/api/v1/incidents/cells.geojson"): {"anonymous": 401, **_only(INTERNAL)},
    ("GET", "/api/v1/boundaries/{agency_code}.geojson"): {"anonymous": 401, **_everyone(200)},
    ("GET", "/api/v1/streets/{agency_code}.geojson"): {"anonymous": 401, **_everyone(200)},
    ("GET", "/api/v1/users"): {"anonymous": 401, **_only(["administrator"])},
    ("GET", "/admin/users"): {"anonymous": 303, **_only(["administrator"])},
    ("POST", "/admin/users"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/admin/users/{username}"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/api/v1/openapi.json"): {"anonymous": 401, **_everyone(200)},
    # Intelligence and tips (tests/test_intel_web.py exercises the behaviour behind each).
    ("GET", "/tips"): {"anonymous": 200, **_everyone(200)},
    # The public transparency report (tests/test_transparency.py): anyone, no sign-in.
    ("GET", "/transparency"): {"anonymous": 200, **_everyone(200)},
    # The anonymous visitor's store is empty: the page says so, the CSV has no agency to report on (400).
    ("GET", "/transparency.csv"): {"anonymous": 400, **_everyone(200)},
    ("GET", "/transparency.pdf"): {"anonymous": 400, **_everyone(200)},
    ("POST", "/tips"): {"anonymous": 403, **_everyone(403)},
    ("GET", "/tips/follow-up"): {"anonymous": 200, **_everyone(200)},
    ("POST", "/tips/follow-up"): {"anonymous": 403, **_everyone(403)},
    ("POST", "/tips/follow-up/message"): {"anonymous": 403, **_everyone(403)},
    ("POST", "/tips/follow-up/payout-code"): {"anonymous": 403, **_everyone(403)},
    ("POST", "/api/v1/public/tips"): {"anonymous": 422, **_everyone(422)},
    ("POST", "/api/v1/public/tips/read"): {"anonymous": 422, **_everyone(422)},
    ("POST", "/api/v1/public/tips/messages"): {"anonymous": 422, **_everyone(422)},
    ("POST", "/api/v1/intel/records"): {"anonymous": 401, **_only(_LE, 422)},
    ("POST", "/api/v1/intel/records/search"): {"anonymous": 401, **_only(_LE, 422)},
    ("POST", "/api/v1/intel/records/{record_id}/read"): {"anonymous": 401, **_only([*_LE, "partner"], 422)},
    ("POST", "/api/v1/intel/records/{record_id}/approve"): {"anonymous": 401, **_only(_REVIEW, 422)},
    ("POST", "/api/v1/intel/records/{record_id}/reject"): {"anonymous": 401, **_only(_REVIEW, 422)},
    ("POST", "/api/v1/intel/records/{record_id}/validate"): {"anonymous": 401, **_only(_REVIEW, 422)},
    ("POST", "/api/v1/intel/records/{record_id}/correct"): {"anonymous": 401, **_only(_LE, 422)},
    ("POST", "/api/v1/intel/records/{record_id}/disseminate"): {"anonymous": 401, **_only(_TRIAGE, 422)},
    ("POST", "/api/v1/intel/records/{record_id}/preview"): {"anonymous": 401, **_only(_TRIAGE, 422)},
    ("GET", "/api/v1/intel/review-queue"): {"anonymous": 401, **_only(_REVIEW)},
    ("GET", "/api/v1/intel/compliance"): {"anonymous": 401, **_only(["auditor", "administrator", "supervisor"])},
    ("GET", "/api/v1/intel/tips"): {"anonymous": 401, **_only(_TRIAGE)},
    ("GET", "/api/v1/intel/tips/{tip_id}"): {"anonymous": 401, **_only(_TRIAGE, 404)},
    ("POST", "/api/v1/intel/tips/{tip_id}/reply"): {"anonymous": 401, **_only(_TRIAGE, 422)},
    ("GET", "/api/v1/notifications"): {"anonymous": 401, **_everyone(200)},
    ("GET", "/intel/tips"): {"anonymous": 303, **_only(_TRIAGE)},
    ("GET", "/intel/tips/{tip_id}"): {"anonymous": 303, **_only(_TRIAGE, 404)},
    ("GET", "/intel/tips/{tip_id}/attachments/{attachment_id}"): {"anonymous": 303, **_only(_TRIAGE, 404)},
    ("POST", "/intel/tips/{tip_id}/reply"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/tips/{tip_id}/close"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/tips/{tip_id}/link"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/tips/{tip_id}/named"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/intel/tips/{tip_id}/convert"): {"anonymous": 303, **_only(_TRIAGE, 404)},
    ("POST", "/intel/tips/{tip_id}/convert"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/intel/tips/{tip_id}/reward"): {"anonymous": 303, **_only(_REWARDS, 404)},
    ("POST", "/intel/tips/{tip_id}/reward"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/tips/{tip_id}/payout"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/intel/rewards"): {"anonymous": 303, **_only(_REWARDS)},
    ("POST", "/intel/tips/{tip_id}/unlock"): {"anonymous": 303, **_everyone(403)},
    # Intelligence administration, corrections and emergency releases (tests/test_intel_admin.py).
    ("GET", "/api/v1/intel/agreements"): {"anonymous": 401, **_only(_SETTINGS)},
    ("POST", "/api/v1/intel/agreements"): {"anonymous": 401, **_only(_SETTINGS, 422)},
    ("POST", "/api/v1/intel/agreements/{agreement_id}/revoke"): {"anonymous": 401, **_only(_SETTINGS, 422)},
    ("GET", "/api/v1/intel/grading-scheme"): {"anonymous": 401, **_only(_SETTINGS)},
    ("POST", "/api/v1/intel/grading-scheme"): {"anonymous": 401, **_only(_SETTINGS, 422)},
    ("POST", "/api/v1/intel/records/{record_id}/emergency-release"): {"anonymous": 401, **_only(_REVIEW, 422)},
    ("GET", "/intel/settings"): {"anonymous": 303, **_only(_SETTINGS)},
    ("POST", "/intel/settings/agreements"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/settings/agreements/{agreement_id}/revoke"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/settings/grading-scheme"): {"anonymous": 303, **_everyone(403)},
    # Sharing groups (tests/test_sharing_groups.py): managed by settings roles, listed by releasers too.
    ("GET", "/api/v1/intel/groups"): {"anonymous": 401, **_only(_SETTINGS + _TRIAGE)},
    ("POST", "/api/v1/intel/groups"): {"anonymous": 401, **_only(_SETTINGS, 422)},
    ("GET", "/api/v1/intel/groups/{group_id}"): {"anonymous": 401, **_only(_SETTINGS + _TRIAGE, 404)},
    ("POST", "/api/v1/intel/groups/{group_id}/members"): {"anonymous": 401, **_only(_SETTINGS, 422)},
    ("GET", "/intel/groups"): {"anonymous": 303, **_only(_SETTINGS)},
    ("POST", "/intel/groups"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/groups/{group_id}/members"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/records/{record_id}/correct/form"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/records/{record_id}/correct"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/records/{record_id}/emergency-release"): {"anonymous": 303, **_everyone(403)},
    # Intelligence pages (tests/test_intel_pages.py).
    ("GET", "/intel/records/new"): {"anonymous": 303, **_only(_LE)},
    ("POST", "/intel/records"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/intel/search"): {"anonymous": 303, **_only(_LE)},
    ("POST", "/intel/search"): {"anonymous": 303, **_everyone(403)},
    # Without ?purpose= the page only asks for one; it reads nothing, so it answers the same for any id.
    ("GET", "/intel/records/{record_id}"): {"anonymous": 303, **_only([*_LE, "partner"])},
    ("POST", "/intel/records/{record_id}/open"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/records/{record_id}/approve"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/records/{record_id}/reject"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/records/{record_id}/validate"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/intel/records/{record_id}/disseminate"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/intel/review"): {"anonymous": 303, **_only(_REVIEW)},
    ("GET", "/intel/compliance"): {"anonymous": 303, **_only(["auditor", "administrator", "supervisor"])},
    ("GET", "/intel/received"): {"anonymous": 303, **_only([*_LE, "partner"])},
    ("GET", "/notifications"): {"anonymous": 303, **_everyone(200)},
    ("POST", "/notifications/read"): {"anonymous": 303, **_everyone(403)},
    # Crime analysis (tests/test_analysis_web.py exercises each). The seeded store holds one undated
    # robbery: the API answers 400 (nothing to analyse), the pages show the message.
    ("GET", "/api/v1/analysis/hotspots.geojson"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/hotspots.csv"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/knox.json"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/knox.csv"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/near-repeat-alerts.geojson"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/near-repeat-alerts.csv"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/trends.json"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/trends.csv"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/analysis/compstat.json"): {"anonymous": 401, **_only(INTERNAL, 400)},
    # A background job's progress: its owner only; no job by that id here, so 404 for every role.
    ("GET", "/api/v1/jobs/{job_id}"): {"anonymous": 401, **_everyone(404)},
    ("GET", "/analysis/hotspots"): {"anonymous": 303, **_only(INTERNAL)},
    ("GET", "/analysis/near-repeat"): {"anonymous": 303, **_only(INTERNAL)},
    ("GET", "/analysis/trends"): {"anonymous": 303, **_only(INTERNAL)},
    ("GET", "/analysis/trends/print"): {"anonymous": 303, **_only(INTERNAL)},
    # Forecast (tests/test_forecast_web.py): the same seeded store is too small to forecast from.
    ("GET", "/api/v1/forecast/weekly.geojson"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/forecast"): {"anonymous": 303, **_only(INTERNAL)},
    # Deployment lists (tests/test_tasking_web.py): analysts and supervisors plan (the form, no plan without a
    # budget); officers too may open a printable list, but only from a signed link (none given here: 400).
    ("GET", "/deploy"): {"anonymous": 303, **_only(_PLANNERS)},
    # The deployment list as JSON: the same planners; the seeded store is too small to plan from (400).
    ("GET", "/api/v1/deploy.json"): {"anonymous": 401, **_only(_PLANNERS, 400)},
    ("GET", "/deploy/print"): {"anonymous": 303, **_only([*_PLANNERS, "officer"], 400)},
    # Civil-rights gates (tests/test_civil_rights_web.py): supervisors override a held plan or justify a model;
    # without a form token every POST is refused (403), others are refused by role (403).
    ("POST", "/deploy/override"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/api/v1/deploy/override"): {"anonymous": 401, **_only(["supervisor"], 422)},
    ("POST", "/api/v1/deploy/justify"): {"anonymous": 401, **_only(["supervisor"], 422)},
    ("POST", "/deploy/justify"): {"anonymous": 303, **_everyone(403)},
    # The concentration audit of issued lists (tests/test_patrol_log.py): planners; the matrix's store
    # has no disparity data, so the page says why and the JSON answers with the counts.
    ("GET", "/civil-rights/concentration"): {"anonymous": 303, **_only(_PLANNERS)},
    ("GET", "/api/v1/civil-rights/concentration.json"): {"anonymous": 401, **_only(_PLANNERS)},
    # The live feedback check of issued lists (tests/test_feedback_check.py): planners; the page shows its form
    # until sent, and the JSON refuses (400) since the matrix's store has no issued list.
    ("GET", "/civil-rights/feedback"): {"anonymous": 303, **_only(_PLANNERS)},
    ("GET", "/api/v1/civil-rights/feedback.json"): {"anonymous": 401, **_only(_PLANNERS, 400)},
    # Problems (SARA): tests/test_problems_web.py. No problem 1 exists: reads answer 404 to those permitted.
    ("GET", "/api/v1/problems"): {"anonymous": 401, **_only(INTERNAL)},
    ("POST", "/api/v1/problems"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("GET", "/api/v1/problems/scan"): {"anonymous": 401, **_only(INTERNAL, 400)},
    ("GET", "/api/v1/problems/{problem_id}"): {"anonymous": 401, **_only(INTERNAL, 404)},
    ("PATCH", "/api/v1/problems/{problem_id}"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("POST", "/api/v1/problems/{problem_id}/stage"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("PUT", "/api/v1/problems/{problem_id}/worksheet"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("POST", "/api/v1/problems/{problem_id}/notes"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("POST", "/api/v1/problems/{problem_id}/attachments"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("GET", "/api/v1/problems/{problem_id}/attachments/{attachment_id}"): {"anonymous": 401, **_only(INTERNAL, 404)},
    ("POST", "/api/v1/problems/{problem_id}/interventions"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("PUT", "/api/v1/problems/{problem_id}/interventions/{intervention_id}"): {
        "anonymous": 401,
        **_only(_PROBLEM_WRITERS, 422),
    },
    ("DELETE", "/api/v1/problems/{problem_id}/interventions/{intervention_id}"): {
        "anonymous": 401,
        **_only(_PROBLEM_WRITERS, 404),
    },
    ("POST", "/api/v1/problems/{problem_id}/comparison-areas"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 422)},
    ("PUT", "/api/v1/problems/{problem_id}/comparison-areas/{role}"): {
        "anonymous": 401,
        **_only(_PROBLEM_WRITERS, 422),
    },
    ("POST", "/api/v1/problems/{problem_id}/power"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 404)},
    ("POST", "/api/v1/problems/{problem_id}/assessments"): {"anonymous": 401, **_only(_PROBLEM_WRITERS, 404)},
    ("GET", "/api/v1/problems/{problem_id}/evaluations/{evaluation_id}/chart.svg"): {
        "anonymous": 401,
        **_only(INTERNAL, 404),
    },
    ("GET", "/api/v1/problems/{problem_id}/map.geojson"): {"anonymous": 401, **_only(INTERNAL, 404)},
    # Intelligence products (tests/test_products_web.py): read by law-enforcement roles, made by
    # analysts and supervisors. No product 1 exists: its documents answer 404 to those permitted.
    ("GET", "/api/v1/products"): {"anonymous": 401, **_only(_LE)},
    ("POST", "/api/v1/products/{kind}"): {"anonymous": 401, **_only(_PRODUCERS, 422)},
    ("GET", "/api/v1/products/{product_id}.pdf"): {"anonymous": 401, **_only(_LE, 404)},
    ("GET", "/api/v1/products/{product_id}.html"): {"anonymous": 401, **_only(_LE, 404)},
    ("POST", "/api/v1/products/{product_id}/rerender"): {"anonymous": 401, **_only(_PRODUCERS, 404)},
    ("POST", "/api/v1/products/{product_id}/send"): {"anonymous": 401, **_only(_SENDERS, 422)},
    ("GET", "/products"): {"anonymous": 303, **_only(_LE)},
    ("POST", "/products/{kind}"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/products/{product_id}/rerender"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/products/{product_id}/send"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/problems"): {"anonymous": 303, **_only(INTERNAL)},
    ("GET", "/problems/new"): {"anonymous": 303, **_only(_PROBLEM_WRITERS)},
    ("POST", "/problems"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/problems/{problem_id}"): {"anonymous": 303, **_only(INTERNAL, 404)},
    ("POST", "/problems/{problem_id}/stage"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/worksheet"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/notes"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/attachments"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/interventions"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/edit"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/interventions/{intervention_id}"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/interventions/{intervention_id}/delete"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/comparison-areas"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/comparison-areas/{role}"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/power"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/problems/{problem_id}/assessments"): {"anonymous": 303, **_everyone(403)},
    # Crime series: tests/test_series_store.py. No series 1 exists; similar needs an incident_id (422).
    ("GET", "/api/v1/series"): {"anonymous": 401, **_only(_LE)},
    ("POST", "/api/v1/series"): {"anonymous": 401, **_only(_PLANNERS, 422)},
    ("GET", "/api/v1/series/similar"): {"anonymous": 401, **_only(_LE, 422)},
    ("GET", "/api/v1/series/possible"): {"anonymous": 401, **_only(_LE)},
    ("GET", "/api/v1/series/{series_id}"): {"anonymous": 401, **_only(_LE, 404)},
    ("POST", "/api/v1/series/{series_id}/review"): {"anonymous": 401, **_only(_REVIEW, 422)},
    ("GET", "/series"): {"anonymous": 303, **_only(_LE)},
    # Entities: tests/test_entities_visibility.py (what each role sees). No entity 1; search needs a term.
    ("GET", "/api/v1/entities/search"): {"anonymous": 401, **_only(_LE, 400)},
    ("GET", "/api/v1/entities/suggest"): {"anonymous": 401, **_only(_LE)},
    ("POST", "/api/v1/entities/tips/{tip_id}"): {"anonymous": 401, **_only(_TRIAGE, 422)},
    ("GET", "/api/v1/entities/review"): {"anonymous": 401, **_only(_TRIAGE)},
    ("POST", "/api/v1/entities/review/{pair_id}"): {"anonymous": 401, **_only(_TRIAGE, 422)},
    ("GET", "/api/v1/entities/{entity_id}"): {"anonymous": 401, **_only(_LE, 404)},
    ("GET", "/entities"): {"anonymous": 303, **_only(_LE)},
    ("GET", "/entities/review"): {"anonymous": 303, **_only(_TRIAGE)},
    ("POST", "/entities/review/{pair_id}"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/entities/{entity_id}"): {"anonymous": 303, **_only(_LE, 404)},
    # Networks: tests/test_networks_store.py (what each role sees) and tests/test_networks_web.py.
    ("GET", "/api/v1/networks/chart.json"): {"anonymous": 401, **_only([*_LE, "partner"])},
    ("GET", "/api/v1/networks/export"): {"anonymous": 401, **_only([*_LE, "partner"])},
    ("GET", "/networks"): {"anonymous": 303, **_only([*_LE, "partner"])},
    # Designations: tests/test_designations.py. Forms without a CSRF token: 403 for everyone signed in.
    ("GET", "/api/v1/networks/designations"): {"anonymous": 401, **_only(_LE)},
    ("GET", "/networks/designations"): {"anonymous": 303, **_only(_LE)},
    ("POST", "/networks/designations"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/networks/designations/{designation_id}/review"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/networks/designations/{designation_id}/decide"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/api/v1/networks/designations/{designation_id}/decide"): {
        "anonymous": 401,
        **_only(_REVIEW, 422),
    },
    # Deconfliction: tests/test_deconfliction.py. JSON posts without a body: 422 for those permitted.
    ("POST", "/api/v1/deconfliction/events"): {"anonymous": 401, **_only(_DECONFLICT, 422)},
    ("GET", "/api/v1/deconfliction/events"): {"anonymous": 401, **_only(_DECONFLICT)},
    ("POST", "/api/v1/deconfliction/events/{event_id}/close"): {"anonymous": 401, **_only(_DECONFLICT, 422)},
    # Exchange downloads: tests/test_exchange_geopackage.py. Without dates: 400 for those permitted.
    ("GET", "/api/v1/exports/{agency_code}.gpkg"): {
        "anonymous": 401,
        **_only(["analyst", "supervisor", "administrator"], 400),
    },
    # NIBRS and STIX downloads: tests/test_exchange_downloads.py. Without dates / body: 400 / 422 for those permitted.
    ("GET", "/api/v1/exports/{agency_code}.nibrs.zip"): {
        "anonymous": 401,
        **_only(["analyst", "supervisor", "administrator"], 400),
    },
    ("POST", "/api/v1/exports/{agency_code}.stix.json"): {
        "anonymous": 401,
        **_only(["analyst", "supervisor", "administrator"], 422),
    },
    # The watch centre: watch officers read the queue and act on conflicts (none here: 404); supervisors waive.
    ("GET", "/api/v1/deconfliction/conflicts"): {"anonymous": 401, **_only(["watch_officer"])},
    ("POST", "/api/v1/deconfliction/conflicts/{conflict_id}/acknowledge"): {
        "anonymous": 401,
        **_only(["watch_officer"], 404),
    },
    ("POST", "/api/v1/deconfliction/conflicts/{conflict_id}/resolve"): {
        "anonymous": 401,
        **_only(["watch_officer"], 422),
    },
    ("POST", "/api/v1/deconfliction/conflicts/{conflict_id}/waive"): {"anonymous": 401, **_only(["supervisor"], 422)},
    # Conflicts with partner instances' events (tests/test_federation_deconfliction_queue.py): the same roles.
    ("POST", "/api/v1/deconfliction/partner-conflicts/{conflict_id}/acknowledge"): {
        "anonymous": 401,
        **_only(["watch_officer"], 404),
    },
    ("POST", "/api/v1/deconfliction/partner-conflicts/{conflict_id}/resolve"): {
        "anonymous": 401,
        **_only(["watch_officer"], 422),
    },
    ("POST", "/api/v1/deconfliction/partner-conflicts/{conflict_id}/waive"): {
        "anonymous": 401,
        **_only(["supervisor"], 422),
    },
    ("POST", "/deconfliction/partner-conflicts/{conflict_id}/acknowledge"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/deconfliction/partner-conflicts/{conflict_id}/resolve"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/deconfliction/partner-conflicts/{conflict_id}/waive"): {"anonymous": 303, **_everyone(403)},
    # Deconfliction pages (tests/test_browser_deconfliction.py): forms without a CSRF token are refused.
    ("GET", "/deconfliction"): {"anonymous": 303, **_only(_DECONFLICT)},
    ("POST", "/deconfliction/events"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/deconfliction/conflicts/{conflict_id}/waive"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/deconfliction/watch"): {"anonymous": 303, **_only(["watch_officer"])},
    ("POST", "/deconfliction/conflicts/{conflict_id}/acknowledge"): {"anonymous": 303, **_everyone(403)},
    ("POST", "/deconfliction/conflicts/{conflict_id}/resolve"): {"anonymous": 303, **_everyone(403)},
    # Federation between instances (tests/test_federation_instances.py). The partner API is authenticated
    # ONLY by each request's Ed25519 signature: no session opens it, so every visitor gets 401.
    ("POST", "/federation/v1/hello"): {"anonymous": 401, **_everyone(401)},
    ("POST", "/federation/v1/search"): {"anonymous": 401, **_everyone(401)},
    ("POST", "/federation/v1/notices"): {"anonymous": 401, **_everyone(401)},
    ("POST", "/federation/v1/deconfliction/check"): {"anonymous": 401, **_everyone(401)},
    ("POST", "/federation/v1/deconfliction/closed"): {"anonymous": 401, **_everyone(401)},
    # The analyst's federated search (signed-in, intel:search).
    ("POST", "/api/v1/federation/search"): {"anonymous": 401, **_only(_LE, 422)},
    ("GET", "/federation/search"): {"anonymous": 303, **_only(_LE)},
    ("POST", "/federation/search"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/series/similar"): {"anonymous": 303, **_only(_LE, 422)},
    ("POST", "/series"): {"anonymous": 303, **_everyone(403)},
    ("GET", "/series/{series_id}"): {"anonymous": 303, **_only(_LE, 404)},
    ("POST", "/series/{series_id}/review"): {"anonymous": 303, **_everyone(403)},
}


def app_endpoints(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, from its route table (``app.routes``)."""
    return set(route_table(client.app))  # type: ignore[arg-type]


def concrete(path: str) -> str:
    if path in MOUNT_SAMPLES:
        return MOUNT_SAMPLES[path]
    return path.format(**PATH_PARAMS)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_agency(engine)
    seed_incidents(engine, "SLMPD", [IncidentSpec("robbery", None)])
    for role in ROLES:
        seed_user(engine, f"user-{role}", role=role)
    return engine


def test_every_route_is_classified(engine: Engine, tmp_path: Path) -> None:
    endpoints = app_endpoints(make_client(engine, tmp_path))
    unclassified = endpoints - set(MATRIX)
    stale = set(MATRIX) - endpoints
    assert not unclassified, f"add these routes to MATRIX with expected statuses: {sorted(unclassified)}"
    assert not stale, f"MATRIX lists routes the app no longer has: {sorted(stale)}"


def _request(client: TestClient, method: str, path: str) -> int:
    return client.request(method, concrete(path), follow_redirects=False).status_code


def test_anonymous(engine: Engine, tmp_path: Path) -> None:
    client = make_client(engine, tmp_path)
    got = {key: _request(client, *key) for key in MATRIX}
    expected = {key: statuses["anonymous"] for key, statuses in MATRIX.items()}
    assert got == expected


@pytest.mark.parametrize("role", ROLES)
def test_role(seeded: Engine, tmp_path: Path, role: str) -> None:
    client = make_client(seeded, tmp_path)
    assert login(client, f"user-{role}").status_code == 303
    got = {key: _request(client, *key) for key in MATRIX}
    expected = {key: statuses[role] for key, statuses in MATRIX.items()}
    assert got == expected


def test_anonymous_pages_redirect_to_login_with_next(engine: Engine, tmp_path: Path) -> None:
    client = make_client(engine, tmp_path)
    response = client.get("/map?category=robbery", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fmap%3Fcategory%3Drobbery"
    api = client.get("/api/v1/incidents.geojson")
    assert api.status_code == 401
    assert api.json() == {"detail": "Sign in required."}


def test_unknown_paths_do_not_reveal_anything_to_anonymous(engine: Engine, tmp_path: Path) -> None:
    client = make_client(engine, tmp_path)
    assert client.get("/api/v1/nothing-here").status_code == 401
    assert client.get("/nothing-here", follow_redirects=False).status_code == 303


def test_users_see_only_their_own_agency(engine: Engine, tmp_path: Path) -> None:
    import datetime as dt

    seed_agency(engine, "SLMPD")
    seed_agency(engine, "OTHER", timezone="America/New_York")
    when = dt.datetime(2019, 5, 1, 12, tzinfo=dt.UTC)
    mine = seed_incidents(engine, "SLMPD", [IncidentSpec("robbery", when)])
    seed_incidents(engine, "OTHER", [IncidentSpec("robbery", when), IncidentSpec("burglary", when)])
    seed_user(engine, "slmpd-analyst", agency_code="SLMPD")
    client = make_client(engine, tmp_path)
    login(client, "slmpd-analyst")
    ids = [f["id"] for f in client.get("/api/v1/incidents.geojson").json()["features"]]
    assert ids == mine
    assert client.get("/api/v1/boundaries/OTHER.geojson").status_code == 404
    assert client.get("/api/v1/streets/OTHER.geojson").status_code == 404

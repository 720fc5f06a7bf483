"""``openilp problems``: the same services, requests and audit as the web app."""

from __future__ import annotations

import json
import re

import pytest
from test_cli import cli_env, invoke  # noqa: F401  (fixture re-used)
from web_support import audit_actions, seed_agency, seed_user

from openilp.cli import common
from openilp.services.problems import ScanRequest

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_list_and_show_act_as_the_account_and_are_audited(cli_env: dict[str, str]) -> None:  # noqa: F811
    engine = common.engine()
    seed_agency(engine)
    seed_user(engine, "ana")
    code, output = invoke("problems", "list", "--user", "ana", "--json")
    assert code == 0, output
    assert json.loads(output) == []
    code, output = invoke("problems", "show", "7", "--user", "ana")
    assert code == 1 and "no problem 7 in your agency" in output
    code, output = invoke("problems", "list", "--user", "nobody")
    assert code == 1 and "no active user 'nobody'" in output
    # The service audits the list (a search) under the account's name, as it does for the web app.
    assert ("search", "ana", "problems") in audit_actions(engine)


def test_scan_refuses_bad_parameters_with_the_service_message(cli_env: dict[str, str]) -> None:  # noqa: F811
    engine = common.engine()
    seed_agency(engine)
    seed_user(engine, "ana")
    code, output = invoke("problems", "scan", "--user", "ana", "--periods", "1")
    assert code == 1 and "at least 2 periods" in output
    code, output = invoke("problems", "scan", "--user", "ana", "--as-of", "2019-13-01")
    assert code == 1 and "must be a date written YYYY-MM-DD" in output
    code, output = invoke("problems", "scan", "--user", "ana")
    assert code == 1 and "no located incidents" in output


def test_scan_help_states_the_request_defaults(cli_env: dict[str, str]) -> None:  # noqa: F811
    code, output = invoke("problems", "scan", "--help")
    assert code == 0
    text = re.sub(r"[\s│]+", " ", output)
    defaults = ScanRequest()
    assert f"(default: {defaults.categories[0]})" in text
    assert f"(default: {defaults.periods})" in text
    assert f"(default: {defaults.period_days})" in text
    assert f"(default: {defaults.permutations})" in text

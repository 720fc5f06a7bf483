"""argon2 password hashing and the role/permission table."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from openilp.security.passwords import hash_password, needs_rehash, verify_password
from openilp.security.roles import INTERNAL_ROLES, PERMISSIONS, ROLES, has_permission, permissions_for


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first = hash_password("correct horse battery staple")
    second = hash_password("correct horse battery staple")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first
    assert verify_password(first, "correct horse battery staple")
    assert verify_password(second, "correct horse battery staple")
    assert not verify_password(first, "correct horse battery stapl")


@pytest.mark.parametrize("bad_hash", ["", "plain text", "$argon2id$v=19$m=65536,t=3,p=4$broken"])
def test_malformed_hash_never_verifies(bad_hash: str) -> None:
    assert not verify_password(bad_hash, "anything at all")
    assert needs_rehash(bad_hash)


def test_weaker_parameters_need_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("a password of length")
    assert verify_password(weak, "a password of length")
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password("a password of length"))


def test_roles_are_the_eight_documented_ones() -> None:
    assert ROLES == (
        "analyst",
        "officer",
        "supervisor",
        "reviewer",
        "auditor",
        "administrator",
        "partner",
        "watch_officer",
    )
    assert "partner" not in INTERNAL_ROLES


def test_permission_table() -> None:
    for role in INTERNAL_ROLES:
        assert has_permission(role, "incidents:read")
    assert not has_permission("partner", "incidents:read")
    assert [r for r in ROLES if has_permission(r, "users:manage")] == ["administrator"]
    assert permissions_for("nobody") == frozenset()
    assert all(set(roles) <= set(ROLES) for roles in PERMISSIONS.values())


def test_unknown_permission_is_an_error_not_a_denial() -> None:
    with pytest.raises(KeyError, match="unknown permission"):
        has_permission("administrator", "incidents:raed")

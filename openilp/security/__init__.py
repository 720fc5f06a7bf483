"""Security: password hashing, roles and permissions (accounts and sign-in live in services.accounts)."""

from openilp.security.passwords import hash_password, needs_rehash, verify_password
from openilp.security.roles import PERMISSIONS, ROLES, Role, has_permission, permissions_for

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "Role",
    "has_permission",
    "hash_password",
    "needs_rehash",
    "permissions_for",
    "verify_password",
]

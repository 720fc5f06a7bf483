"""Security: password hashing, roles and permissions (authentication lives in services.users)."""

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

"""People, agencies and the audit log: the account workflows both shells share.

* ``agencies``: creating and listing agencies, the default agency of an analysis;
* ``users``: accounts (creation, listing, administration of roles, activity and reviewer training),
  and the acting user a command names;
* ``signin``: checking a password with the lockout rule;
* ``totp``: the second factor (enrolment, codes with replay protection, resets);
* ``sessions``: server-side sign-in sessions (start, check, end, revoke);
* ``audit_log``: reading and verifying the audit log, and anchoring its head outside the store;
* ``records``: the account rows as the other services read them (building blocks, no transaction).

Every public workflow takes the core object, the actor and one request, owns its unit of work and
returns a frozen result (:mod:`openilp.core.contract`). ``actor=None`` is the command line, run by
whoever controls the server; a signed-in actor needs the permission the workflow names.
"""

__all__ = ["agencies", "audit_log", "records", "sessions", "signin", "totp", "users"]

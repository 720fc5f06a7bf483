"""Criminal intelligence and community tips (28 CFR Part 23): the workflows both shells share.

* ``records``: submission through the predicate gate, review (approve, reject);
* ``reading``: reading a record and the access-aware search;
* ``corrections``: corrections, identifier updates and the erasure a purge or rejection leaves;
* ``dissemination``, ``emergency``: releases outside the agency (23.20(e), (f));
* ``agreements``: partner sharing agreements and the agency's grading scheme (23.20(f)(1));
* ``retention``: review tasks, validation and the purge job (23.20(h));
* ``tips``, ``tip_triage``, ``rewards``: the anonymous tipster's dialogue, staff triage, rewards;
* ``compliance``, ``options``, ``common``: the compliance report, form choices, shared helpers.

Every public function takes the core object, the actor and one request, owns its unit of work
and returns a frozen result (:mod:`openilp.core.contract`).
"""

__all__ = [
    "agreements",
    "common",
    "compliance",
    "corrections",
    "dissemination",
    "emergency",
    "options",
    "reading",
    "records",
    "retention",
    "rewards",
    "tip_triage",
    "tips",
]

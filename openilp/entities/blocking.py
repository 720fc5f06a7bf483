"""Blocking rules designed for recall, and the measured recall of a rule set.

Comparing every pair of a million records is 5·10¹¹ comparisons; blocking keeps only pairs that
agree on at least one *key*. A true match missed by every rule can never be linked, whatever the
model, so the rules here are built for **recall**: each one tolerates an error the others do not.

* phonetic names (Metaphone) with date of birth, so a misspelt name still meets its twin;
* first and last name swapped (*Lee Kim* / *Kim Lee*);
* the date of birth with day and month transposed (``1984-07-02`` / ``1984-02-07``);
* the canonical given name (nicknames folded) with the surname;
* identifiers, the address (postcode and street number), and the postcode with the date of birth.

Common names alone are not a key: at a million records *John Smith* and its phonetic twins make
tens of millions of pairs, almost all of them different people. A phonetic full name is a key on
its own only when few records share it (``rare_names``, :data:`RARE_NAME_RECORDS` records at
most); otherwise the name rules hold the year of birth, the street, or a missing date of birth
(``when_missing``: one of the two records has none, the case the other rules cannot reach).

Each rule joins on equality, so a database evaluates it as a hash join (Splink runs them on
DuckDB or Spark); ``when_missing`` only filters the joined pairs. :func:`blocking_recall`
measures, on data with known matches, the share of true pairs that at least one rule finds: the
ceiling of the whole pipeline's recall.

>>> rule = BlockingRule("names", (("surname_metaphone", "surname_metaphone"), ("dob", "dob")))
>>> rule.sql()
'l.surname_metaphone = r.surname_metaphone AND l.dob = r.dob'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from openilp.entities.normalize import RARE_NAME_RECORDS

__all__ = [
    "BlockingRule",
    "RECALL_RULES",
    "EXACT_NAME_DOB_RULES",
    "RARE_NAME_RECORDS",
    "blocking_recall",
    "true_pairs",
]


@dataclass(frozen=True)
class BlockingRule:
    """Pairs whose left column equals the right column on every ``(left, right)`` couple.

    A rule that compares different columns (swapped names) is symmetric when read both ways, so
    it finds a pair whichever record comes first.
    """

    name: str
    equal: tuple[tuple[str, str], ...]
    #: Columns that at least one of the two records must lack (e.g. the date of birth).
    when_missing: tuple[str, ...] = ()

    def sql(self) -> str:
        """The rule as a Splink blocking condition (``l.`` and ``r.`` are the two records).

        >>> BlockingRule("n", (("a", "a"),), when_missing=("dob",)).sql()
        'l.a = r.a AND (l.dob IS NULL OR r.dob IS NULL)'
        """
        # Plain column names (no quotes): the same text is valid SQL on DuckDB and Spark.
        terms = [f"l.{left} = r.{right}" for left, right in self.equal]
        terms += [f"(l.{column} IS NULL OR r.{column} IS NULL)" for column in self.when_missing]
        return " AND ".join(terms)

    def is_symmetric(self) -> bool:
        """Whether reading the rule with the records swapped gives the same rule."""
        return set(self.equal) == {(right, left) for left, right in self.equal}

    def mirrored(self) -> BlockingRule:
        """The rule with the two records swapped (``l.a = r.b`` becomes ``l.b = r.a``)."""
        return BlockingRule(
            f"{self.name}_mirrored", tuple((right, left) for left, right in self.equal), self.when_missing
        )

    def sql_both_ways(self) -> list[str]:
        """The conditions that find a pair in either order: one for a symmetric rule, else two.

        A deduplication compares each pair once, left record first, so an asymmetric rule
        (first name of one record against the surname of the other) needs its mirror too.
        """
        return [self.sql()] if self.is_symmetric() else [self.sql(), self.mirrored().sql()]

    def columns(self) -> set[str]:
        return {column for pair in self.equal for column in pair} | set(self.when_missing)


def _rule(name: str, *columns: str | tuple[str, str], when_missing: tuple[str, ...] = ()) -> BlockingRule:
    return BlockingRule(name, tuple((c, c) if isinstance(c, str) else c for c in columns), when_missing)


#: The default rules: recall first, every rule a hash join on a selective key.
RECALL_RULES: tuple[BlockingRule, ...] = (
    _rule("identifier", "identifier"),
    _rule("rare_names", "rare_names"),
    _rule("rare_names_swapped", ("rare_names", "names_swapped")),
    _rule("surname_street", "surname_metaphone", "street"),
    _rule("phonetic_names_year", "first_name_metaphone", "surname_metaphone", "birth_year"),
    _rule("phonetic_names_no_dob", "first_name_metaphone", "surname_metaphone", when_missing=("dob_text",)),
    _rule("surname_dob", "surname_metaphone", "dob_text"),
    _rule("first_name_dob", "first_name_metaphone", "dob_text"),
    _rule("nickname_surname_year", "first_name_canonical", "surname_nysiis", "birth_year"),
    _rule("nickname_surname_no_dob", "first_name_canonical", "surname_nysiis", when_missing=("dob_text",)),
    _rule(
        "swapped_names_year",
        ("first_name_metaphone", "surname_metaphone"),
        ("surname_metaphone", "first_name_metaphone"),
        "birth_year",
    ),
    _rule("transposed_dob", ("dob", "dob_transposed"), "surname_metaphone"),
    _rule("address", "postcode", "street_number"),
    _rule("postcode_dob", "postcode", "dob_text"),
    _rule("postcode_surname_year", "postcode", "surname_nysiis", "birth_year"),
    _rule("postcode_first_name_year", "postcode", "first_name_nysiis", "birth_year"),
    _rule("street_dob_year", "street", "birth_year"),
    _rule("dob_state", "dob_text", "state"),
    _rule("dob_street_number", "dob_text", "street_number"),
    _rule("crossed_name_dob", ("first_name_nysiis", "surname_nysiis"), "dob_text"),
    _rule("locality_street_number", "locality", "street_number"),
)

#: The baseline of exact matching: same first name, surname and date of birth.
EXACT_NAME_DOB_RULES: tuple[BlockingRule, ...] = (_rule("exact_name_dob", "first_name", "surname", "dob_text"),)


def true_pairs(labels: Sequence[object] | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)``, ``i < j``, of row positions that share a label (the true matches).

    >>> left, right = true_pairs(["a", "b", "a", "a"])
    >>> list(zip(left.tolist(), right.tolist()))
    [(0, 2), (0, 3), (2, 3)]
    """
    codes = pd.factorize(pd.Series(list(labels)), sort=False)[0]
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(order)]
    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    for start, end in zip(starts, ends, strict=True):
        size = end - start
        if size < 2:
            continue
        members = np.sort(order[start:end])
        i, j = np.triu_indices(size, k=1)
        lefts.append(members[i])
        rights.append(members[j])
    if not lefts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(lefts), np.concatenate(rights)


def _found_by(frame: pd.DataFrame, rule: BlockingRule, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    def one_way(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        hit = np.ones(len(a), dtype=bool)
        for left_column, right_column in rule.equal:
            x = frame[left_column].to_numpy(dtype=object)[a]
            y = frame[right_column].to_numpy(dtype=object)[b]
            hit &= pd.notna(x) & pd.notna(y) & (x == y)
        for column in rule.when_missing:
            values = frame[column].to_numpy(dtype=object)
            hit &= pd.isna(values[a]) | pd.isna(values[b])
        return hit

    return one_way(left, right) | one_way(right, left)


def blocking_recall(
    frame: pd.DataFrame, labels: Sequence[object] | pd.Series, rules: Sequence[BlockingRule] = RECALL_RULES
) -> dict[str, float]:
    """The share of true pairs found by the rules: ``{"all": ..., <rule name>: ...}``.

    ``frame`` is a normalised person frame (:func:`openilp.entities.normalise_persons`) and
    ``labels`` the true entity of each row. ``"all"`` is the recall of the rules together, the
    upper bound of the linkage's pairwise recall; each rule's own share shows what it adds.

    >>> from openilp.entities.normalize import normalise_persons
    >>> people = normalise_persons(pd.DataFrame({
    ...     "record_id": ["1", "2", "3"], "first_name": ["lee", "kim", "ann"],
    ...     "surname": ["kim", "lee", "ward"], "date_of_birth": ["1990-01-02", "1990-01-02", None]}))
    >>> blocking_recall(people, ["p1", "p1", "p2"])["all"]
    1.0
    """
    positions = frame.reset_index(drop=True)
    left, right = true_pairs(labels)
    if len(left) == 0:
        return {"all": 1.0, **{rule.name: 1.0 for rule in rules}}
    found_any = np.zeros(len(left), dtype=bool)
    shares: dict[str, float] = {}
    for rule in rules:
        found = _found_by(positions, rule, left, right)
        shares[rule.name] = float(found.mean())
        found_any |= found
    return {"all": float(found_any.mean()), **shares}

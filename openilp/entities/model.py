"""The person-matching model: Fellegi–Sunter on Splink, trained without labels, checked before use.

Fellegi & Sunter (1969) score a pair of records by summing, over fields, the log-ratio
``log2(m/u)`` of how often a field agrees *at that level* among true matches (``m``) and among
non-matches (``u``). Splink (Linacre et al. 2022) estimates ``u`` from random pairs and ``m`` by
expectation maximisation on blocked pairs, with term-frequency adjustments (agreeing on a rare
surname says more than agreeing on *Smith*). It runs the same SQL on DuckDB (embedded, the
default) and Spark (a cluster, for a state's worth of records).

Unsupervised Fellegi–Sunter can collapse: EM may converge to a split that is not "same person"
(e.g. "same household"), or to nothing. :func:`check_model` reads the trained parameters and
:class:`PersonMatcher` refuses, with :class:`DegenerateModel`, a model in which

* the most specific level of a field is not more likely among matches than non-matches (m ≤ u),
* the "anything else" level of a field is more likely among matches (m ≥ u),
* the prior (probability that two random records match) implies fewer than one or more than
  ``max_matches_per_record`` matching pairs per record, or
* the spread of match weights between full agreement and full disagreement is under
  ``min_separation_bits``.

The fields compared are those of :mod:`openilp.entities.normalize`; a field that is empty in
almost every record is left out of the model (its parameters could not be estimated).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import pandas as pd

from openilp.entities.blocking import RECALL_RULES, BlockingRule
from openilp.entities.normalize import DERIVED_COLUMNS, PERSON_COLUMNS, PROTECTED_COLUMNS

__all__ = ["DegenerateModel", "ModelCheck", "PersonMatcher", "check_model", "comparisons_for", "FIELDS"]

#: The fields the model may compare, in order; each needs the columns listed.
FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "first_name_canonical", "surname"),
    "surname": ("surname", "first_name"),
    "date_of_birth": ("dob_text", "dob", "dob_transposed"),
    "identifier": ("identifier",),
    "street_number": ("street_number",),
    "street": ("street",),
    "locality": ("locality",),
    "postcode": ("postcode",),
    "state": ("state",),
    "phone": ("phone",),
    "middle_name": ("middle_name",),
}


_MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")


class DegenerateModel(ValueError):
    """Training produced a model that cannot tell matches from non-matches; nothing was linked."""


@dataclass(frozen=True)
class ModelCheck:
    """What :func:`check_model` found: the problems (empty when the model is usable) and its numbers."""

    problems: tuple[str, ...]
    prior: float
    expected_matching_pairs: float
    separation_bits: float
    field_weights: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _level_weights(comparison: dict[str, Any]) -> list[tuple[str, float | None, float | None]]:
    out = []
    for level in comparison["comparison_levels"]:
        if level.get("is_null_level"):
            continue
        out.append((level.get("label_for_charts", ""), level.get("m_probability"), level.get("u_probability")))
    return out


def check_model(
    model: dict[str, Any],
    record_count: int,
    *,
    max_matches_per_record: float = 20.0,
    min_separation_bits: float = 12.0,
) -> ModelCheck:
    """Check a trained Splink model (its JSON dictionary) for the signs of a collapsed fit.

    >>> good = {"probability_two_random_records_match": 1e-3, "comparisons": [
    ...   {"output_column_name": "surname", "comparison_levels": [
    ...     {"is_null_level": True},
    ...     {"label_for_charts": "exact", "m_probability": 0.9, "u_probability": 0.001},
    ...     {"label_for_charts": "else", "m_probability": 0.1, "u_probability": 0.999}]}]}
    >>> check_model(good, 1000).ok
    True
    >>> bad = {"probability_two_random_records_match": 1e-3, "comparisons": [
    ...   {"output_column_name": "surname", "comparison_levels": [
    ...     {"is_null_level": True},
    ...     {"label_for_charts": "exact", "m_probability": 0.001, "u_probability": 0.9},
    ...     {"label_for_charts": "else", "m_probability": 0.999, "u_probability": 0.1}]}]}
    >>> check_model(bad, 1000).problems[0]
    "surname: its most specific level 'exact' is not more likely among matches than non-matches (m=0.001 <= u=0.9)"
    """
    problems: list[str] = []
    prior = float(model.get("probability_two_random_records_match") or 0.0)
    total_pairs = record_count * (record_count - 1) / 2
    expected = prior * total_pairs
    if not 0.0 < prior < 1.0:
        problems.append(f"the prior probability that two records match is {prior:g}, outside (0, 1)")
    elif expected < 1.0:
        problems.append(f"the prior implies {expected:.2g} matching pairs among {record_count:,} records (< 1)")
    elif expected > max_matches_per_record * record_count:
        problems.append(
            f"the prior implies {expected:,.0f} matching pairs among {record_count:,} records "
            f"(more than {max_matches_per_record:g} per record): the model has learnt something broader than "
            "'the same person'"
        )
    separation = 0.0
    weights: dict[str, tuple[float, float]] = {}
    for comparison in model.get("comparisons", []):
        name = comparison.get("output_column_name", "?")
        levels = _level_weights(comparison)
        # A middle level never seen among training pairs keeps Splink's default; the ends must be estimated.
        missing = [label for label, m, u in (levels[0], levels[-1]) if not m or not u]
        if missing:
            problems.append(
                f"{name}: levels without estimates ({', '.join(missing)}); the data cannot train this field"
            )
            continue
        top_label, top_m, top_u = levels[0]
        else_label, else_m, else_u = levels[-1]
        assert top_m and top_u and else_m and else_u
        if top_m <= top_u:
            problems.append(
                f"{name}: its most specific level {top_label!r} is not more likely among matches than "
                f"non-matches (m={top_m:.3g} <= u={top_u:.3g})"
            )
        if len(levels) > 1 and else_m >= else_u:
            problems.append(
                f"{name}: its level {else_label!r} is not less likely among matches than non-matches "
                f"(m={else_m:.3g} >= u={else_u:.3g})"
            )
        log_ratios = [math.log2(m / u) for _, m, u in levels if m and u]
        weights[name] = (max(log_ratios), min(log_ratios))
        separation += max(log_ratios) - min(log_ratios)
    if not problems and separation < min_separation_bits:
        problems.append(
            f"full agreement and full disagreement differ by {separation:.1f} bits only "
            f"(at least {min_separation_bits:g} needed): the fields do not separate matches from non-matches"
        )
    return ModelCheck(tuple(problems), prior, expected, separation, weights)


def comparisons_for(fields: Sequence[str]) -> list[Any]:
    """The Splink comparisons of the named fields (keys of :data:`FIELDS`)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def name_levels(column: str, other: str, extra: list[Any]) -> Any:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column, term_frequency_adjustments=True),
                *extra,
                cll.JaroWinklerLevel(column, 0.92),
                cll.Or(
                    cll.CustomLevel(f'"{column}_l" = "{other}_r"', base_dialect_str="duckdb"),
                    cll.CustomLevel(f'"{other}_l" = "{column}_r"', base_dialect_str="duckdb"),
                ).configure(label_for_charts=f"{column} matches the other record's {other}"),
                cll.JaroWinklerLevel(column, 0.8),
                cll.ElseLevel(),
            ],
        )

    made: list[Any] = []
    for name in fields:
        if name == "first_name":
            made.append(
                name_levels(
                    "first_name",
                    "surname",
                    [
                        cll.ExactMatchLevel("first_name_canonical").configure(
                            label_for_charts="Same name once nicknames are folded"
                        )
                    ],
                )
            )
        elif name == "surname":
            made.append(name_levels("surname", "first_name", []))
        elif name == "date_of_birth":
            made.append(
                cl.CustomComparison(
                    output_column_name="date_of_birth",
                    comparison_levels=[
                        cll.NullLevel("dob_text"),
                        cll.ExactMatchLevel("dob_text"),
                        cll.Or(
                            cll.CustomLevel('"dob_l" = "dob_transposed_r"', base_dialect_str="duckdb"),
                            cll.CustomLevel('"dob_transposed_l" = "dob_r"', base_dialect_str="duckdb"),
                        ).configure(label_for_charts="Day and month transposed"),
                        cll.DamerauLevenshteinLevel("dob_text", 1),
                        cll.DamerauLevenshteinLevel("dob_text", 2),
                        cll.ElseLevel(),
                    ],
                )
            )
        elif name in ("identifier", "phone"):
            made.append(cl.DamerauLevenshteinAtThresholds(name, [1, 2]))
        elif name in ("street", "locality", "middle_name"):
            made.append(
                cl.CustomComparison(
                    output_column_name=name,
                    comparison_levels=[
                        cll.NullLevel(name),
                        cll.ExactMatchLevel(name, term_frequency_adjustments=True),
                        cll.JaroWinklerLevel(name, 0.9),
                        cll.JaroWinklerLevel(name, 0.7),
                        cll.ElseLevel(),
                    ],
                )
            )
        elif name == "postcode":
            made.append(
                cl.CustomComparison(
                    output_column_name=name,
                    comparison_levels=[
                        cll.NullLevel(name),
                        cll.ExactMatchLevel(name, term_frequency_adjustments=True),
                        cll.DamerauLevenshteinLevel(name, 1),
                        cll.ElseLevel(),
                    ],
                )
            )
        elif name in ("street_number", "state"):
            made.append(cl.ExactMatch(name).configure(term_frequency_adjustments=True))
        else:
            raise ValueError(f"unknown field {name!r}; known: {', '.join(FIELDS)}")
    return made


@dataclass
class PersonMatcher:
    """Train, check and apply a person-matching model on a normalised person frame.

    Parameters (scikit-learn style: stored here, used in :meth:`fit`):

    * ``blocking_rules``: the candidate pairs to score (:data:`openilp.entities.RECALL_RULES`).
    * ``fields``: the fields to compare; ``None`` takes every field of :data:`FIELDS` that is filled
      in at least ``min_field_fill`` of the records.
    * ``u_max_pairs``: random pairs for the ``u`` estimates; ``em_max_pairs`` caps each EM round.
    * ``backend``: ``"duckdb"`` (embedded) or ``"spark"`` (give ``spark_session``).
    * ``duckdb_memory_limit``: the most memory DuckDB may hold (``"2GB"``); beyond it, it spills to a
      temporary directory. ``None`` leaves DuckDB's own default, 80 % of the machine's memory.
    * ``seed``: fixes the random sample of ``u`` so two runs give the same model.

    After :meth:`fit`: ``model_`` (the Splink model as a dictionary), ``check_`` (a
    :class:`ModelCheck`), ``fields_`` and ``record_count_``.
    """

    blocking_rules: Sequence[BlockingRule] = RECALL_RULES
    fields: Sequence[str] | None = None
    min_field_fill: float = 0.05
    u_max_pairs: float = 2e6
    em_max_pairs: float | None = None
    em_rules: Sequence[tuple[str, ...]] = (("dob_text",), ("first_name", "surname"))
    deterministic_rules: Sequence[tuple[str, ...]] = (("identifier", "dob_text"), ("first_name", "surname", "dob_text"))
    deterministic_recall: float = 0.7
    max_matches_per_record: float = 20.0
    min_separation_bits: float = 12.0
    backend: str = "duckdb"
    duckdb_memory_limit: str | None = "2GB"
    spark_session: Any = None
    seed: int = 42

    def _linker(self, persons: pd.DataFrame, settings: Any) -> Any:
        from splink import Linker

        if self.backend == "duckdb":
            from splink import DuckDBAPI

            db_api: Any = DuckDBAPI(connection=self._duckdb_connection())
            table: Any = persons
        elif self.backend == "spark":
            from splink import SparkAPI

            if self.spark_session is None:
                raise ValueError("the spark backend needs spark_session")
            context = self.spark_session.sparkContext
            if context.getCheckpointDir() is None:  # Splink breaks lineage with checkpoints
                import tempfile

                context.setCheckpointDir(tempfile.mkdtemp(prefix="openilp-spark-"))
            db_api = SparkAPI(spark_session=self.spark_session)
            table = self.spark_session.createDataFrame(persons.astype(object).where(persons.notna(), None))
        else:
            raise ValueError(f"unknown backend {self.backend!r}: use 'duckdb' or 'spark'")
        return Linker(db_api.register(table), settings, log_level=logging.ERROR)

    def _duckdb_connection(self) -> Any:
        import tempfile

        import duckdb

        connection = duckdb.connect()
        # Rows need no order between steps; without it DuckDB streams joins in less memory.
        connection.execute("SET preserve_insertion_order = false")
        connection.execute("SET enable_progress_bar = false")  # callers report progress themselves
        if self.duckdb_memory_limit is not None:
            if not _MEMORY_LIMIT.fullmatch(self.duckdb_memory_limit):
                raise ValueError(
                    f"duckdb_memory_limit {self.duckdb_memory_limit!r} is not a size such as '2GB' or '512MB'"
                )
            self._spill_ = tempfile.TemporaryDirectory(prefix="openilp-entities-")
            connection.execute(f"SET memory_limit = '{self.duckdb_memory_limit}'")
            connection.execute("SET temp_directory = ?", [self._spill_.name])
        return connection

    def _prediction_rules(self) -> list[Any]:
        return [sql for rule in self.blocking_rules for sql in rule.sql_both_ways()]

    def _input(self, persons: pd.DataFrame) -> pd.DataFrame:
        protected = sorted(c for c in persons.columns if str(c).lower() in PROTECTED_COLUMNS)
        if protected:
            raise ValueError(f"protected attributes may not enter entity resolution: {', '.join(protected)}")
        missing = [c for c in (*PERSON_COLUMNS, *DERIVED_COLUMNS) if c not in persons.columns]
        if missing:
            raise ValueError(f"not a normalised person frame (missing {', '.join(missing)}): use normalise_persons")
        frame = persons[[*PERSON_COLUMNS, *DERIVED_COLUMNS]].copy()
        if frame["record_id"].duplicated().any():
            raise ValueError("record_id must be unique")
        return frame.astype(object).where(frame.notna(), None)

    def fit(self, persons: pd.DataFrame) -> Self:
        """Estimate the model on ``persons`` (a normalised person frame) and check it.

        Raises :class:`DegenerateModel` naming every problem when the trained model is unusable.
        """
        from splink import SettingsCreator, block_on

        frame = self._input(persons)
        if self.fields is None:
            fill = {name: min(frame[c].notna().mean() for c in FIELDS[name][:1]) for name in FIELDS}
            fields = [name for name in FIELDS if fill[name] >= self.min_field_fill]
        else:
            fields = list(self.fields)
        settings = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="record_id",
            comparisons=comparisons_for(fields),
            blocking_rules_to_generate_predictions=self._prediction_rules(),
            retain_intermediate_calculation_columns=True,
            retain_matching_columns=True,
        )
        linker = self._linker(frame, settings)
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*rule) for rule in self.deterministic_rules], recall=self.deterministic_recall
        )
        prior = float(linker.misc.save_model_to_json()["probability_two_random_records_match"] or 0.0)
        if not 0.0 < prior < 1.0:
            raise DegenerateModel(
                "No two records agree on the sure-match rules ("
                + "; ".join(" + ".join(rule) for rule in self.deterministic_rules)
                + "), so the share of matching pairs cannot be estimated and nothing was linked. "
                "Check the column mapping, or pass deterministic_rules that hold for true duplicates."
            )
        linker.training.estimate_u_using_random_sampling(max_pairs=self.u_max_pairs, seed=self.seed)
        for rule in self.em_rules:
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*rule), max_pairs=self.em_max_pairs
                )
            except (ValueError, ZeroDivisionError) as error:
                raise DegenerateModel(
                    f"Expectation maximisation on pairs blocked by {' + '.join(rule)} failed ({error}); "
                    "nothing was linked. Check the column mapping or choose other em_rules."
                ) from error
        self.linker_ = linker
        self.fields_ = fields
        self.record_count_ = len(frame)
        self.model_ = linker.misc.save_model_to_json()
        self.check_ = check_model(
            self.model_,
            len(frame),
            max_matches_per_record=self.max_matches_per_record,
            min_separation_bits=self.min_separation_bits,
        )
        if not self.check_.ok:
            raise DegenerateModel(
                "The trained model cannot tell the same person from different people, so nothing was linked:\n- "
                + "\n- ".join(self.check_.problems)
                + "\nCheck the column mapping (are names and dates in the right columns?), add fields, or "
                "train on more records."
            )
        return self

    def predict(self, threshold_match_probability: float = 0.01) -> pd.DataFrame:
        """Scored candidate pairs at or above the threshold, with each field's weight (``mw_<field>``).

        Columns: ``record_id_l``, ``record_id_r`` (left < right), ``match_weight`` (bits),
        ``match_probability``, ``gamma_<field>`` (the agreement level) and ``mw_<field>`` (its
        weight, term-frequency adjustment included).
        """
        predictions = self.linker_.inference.predict(threshold_match_probability=threshold_match_probability)
        present = {column.unquote().name for column in predictions.columns}
        wanted = ["record_id_l", "record_id_r", "match_weight", "match_probability"]
        for name in self.fields_:
            wanted += [c for c in (f"gamma_{name}", f"mw_{name}", f"mw_tf_adj_{name}") if c in present]
        # Only these columns leave the database: the scored table also holds both records' fields,
        # which would cost gigabytes as Python objects at a million records.
        pairs = predictions.query_sql(f"SELECT {', '.join(wanted)} FROM {{this}}").as_pandas_dataframe()
        predictions.drop_table_from_database_and_remove_from_cache()
        keep = ["record_id_l", "record_id_r", "match_weight", "match_probability"]
        for name in self.fields_:
            gamma = f"gamma_{name}"
            if gamma in pairs.columns:
                pairs[f"mw_{name}"] = pairs[f"mw_{name}"].astype(float) + (
                    pairs[f"mw_tf_adj_{name}"].astype(float).fillna(0.0) if f"mw_tf_adj_{name}" in pairs else 0.0
                )
                keep += [gamma, f"mw_{name}"]
        out = pairs[keep].copy()
        swap = out["record_id_l"].astype(str) > out["record_id_r"].astype(str)
        out.loc[swap, ["record_id_l", "record_id_r"]] = out.loc[swap, ["record_id_r", "record_id_l"]].to_numpy()
        out["record_id_l"] = out["record_id_l"].astype(str)
        out["record_id_r"] = out["record_id_r"].astype(str)
        return out.sort_values(["record_id_l", "record_id_r"], kind="stable").reset_index(drop=True)

    def prior_weight(self) -> float:
        """The starting weight of every pair, ``log2(λ / (1 − λ))`` for the prior λ (bits)."""
        prior = float(self.model_["probability_two_random_records_match"])
        return math.log2(prior / (1 - prior))

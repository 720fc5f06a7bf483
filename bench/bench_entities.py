"""Entity resolution on 1,000,000 synthetic person records: OpenILP against two baselines, same run.

The records are :func:`openilp.entities.synthetic.synthetic_persons` (seed 0; about 500,000
people, each written a geometric number of times with typos, nicknames, transposed and mistyped
dates of birth, moves, aliases and missing fields at the documented rates). Three methods run on
the same records, each in its own process so that its peak memory is its own:

* **OpenILP**: normalisation, the recall-first blocking rules, Splink (DuckDB) trained by EM with
  term-frequency adjustments and the collapse check, scoring, clustering at 0.999;
* **exact name + date of birth**: records with the same first name, surname and date of birth
  are one person (what a lookup by name and DOB finds);
* **Splink defaults**: Splink's documented out-of-the-box comparisons (``NameComparison``,
  ``DateOfBirthComparison``, exact postcode with term frequencies) with two-exact-field blocking
  rules and its documented training sequence, clustered at 0.9.

Reported: wall-clock seconds of train + predict + cluster (generation and normalisation apart),
peak RSS, pairwise precision/recall/F1 and blocking recall. Targets: ≤ 360 s, ≤ 6 GB, F1 ≥ 0.93,
blocking recall ≥ 0.95. ``python -m bench entities`` (``ENTITIES_RECORDS`` sets the size).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import time
from typing import Any

from bench.common import write_result

N_RECORDS = int(os.environ.get("ENTITIES_RECORDS", "1000000"))
SEED = 0


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _openilp(n: int) -> dict[str, Any]:
    from openilp.entities import PersonMatcher, blocking_recall, cluster_pairs, normalise_persons, pairwise_scores
    from openilp.entities.synthetic import synthetic_persons

    raw = synthetic_persons(n, seed=SEED)
    start = time.perf_counter()
    persons = normalise_persons(raw)
    normalise_s = time.perf_counter() - start
    recall = blocking_recall(persons, raw["person_id"])["all"]
    start = time.perf_counter()
    matcher = PersonMatcher(u_max_pairs=1e6, em_max_pairs=2e6).fit(persons)
    train_s = time.perf_counter() - start
    pairs = matcher.predict(0.5)
    predict_s = time.perf_counter() - start - train_s
    labels = cluster_pairs(persons["record_id"].tolist(), pairs, threshold=0.999)
    total_s = time.perf_counter() - start
    scores = pairwise_scores([labels[r] for r in persons["record_id"]], raw["person_id"])
    return {
        "seconds": round(total_s, 1),
        "train_s": round(train_s, 1),
        "predict_s": round(predict_s, 1),
        "normalise_s": round(normalise_s, 1),
        "pairs_scored": len(pairs),
        "blocking_recall": round(recall, 4),
        "peak_rss_gb": round(_peak_gb(), 2),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.as_dict().items()},
    }


def _exact(n: int) -> dict[str, Any]:
    from openilp.entities import EXACT_NAME_DOB_RULES, blocking_recall, normalise_persons, pairwise_scores
    from openilp.entities.synthetic import synthetic_persons

    raw = synthetic_persons(n, seed=SEED)
    persons = normalise_persons(raw)
    start = time.perf_counter()
    key = persons["first_name"].fillna("\x00" + persons["record_id"]) + "|" + persons["surname"].fillna("")
    key = key + "|" + persons["dob_text"].fillna("\x00" + persons["record_id"])
    seconds = time.perf_counter() - start
    scores = pairwise_scores(key, raw["person_id"])
    recall = blocking_recall(persons, raw["person_id"], EXACT_NAME_DOB_RULES)["all"]
    return {
        "seconds": round(seconds, 1),
        "blocking_recall": round(recall, 4),
        "peak_rss_gb": round(_peak_gb(), 2),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.as_dict().items()},
    }


def _splink_defaults(n: int) -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from openilp.entities import BlockingRule, blocking_recall, cluster_pairs, normalise_persons, pairwise_scores
    from openilp.entities.synthetic import synthetic_persons

    raw = synthetic_persons(n, seed=SEED)
    frame = raw.drop(columns=["person_id"]).astype(object)
    frame = frame.where(frame.notna(), None)
    two_field = [("first_name", "surname"), ("surname", "date_of_birth"), ("first_name", "date_of_birth")]
    start = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in two_field],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"), max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"), max_pairs=2e6)
    pairs = linker.inference.predict(threshold_match_probability=0.9).as_pandas_dataframe()
    pairs = pairs.rename(columns={"record_id_l": "record_id_l", "record_id_r": "record_id_r"})
    labels = cluster_pairs(frame["record_id"].tolist(), pairs, threshold=0.9)
    seconds = time.perf_counter() - start
    scores = pairwise_scores([labels[r] for r in frame["record_id"]], raw["person_id"])
    rules = [BlockingRule(f"{a}_{b}", ((a, a), (b, b))) for a, b in two_field]
    recall = blocking_recall(
        normalise_persons(raw).assign(**{c: raw[c].values for c in raw.columns}), raw["person_id"], rules
    )
    return {
        "seconds": round(seconds, 1),
        "blocking_recall": round(recall["all"], 4),
        "peak_rss_gb": round(_peak_gb(), 2),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.as_dict().items()},
    }


def _in_child(function: Any, n: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, (n,))


def run() -> dict[str, Any]:
    load = [round(v, 2) for v in os.getloadavg()]
    ours = _in_child(_openilp, N_RECORDS)
    exact = _in_child(_exact, N_RECORDS)
    defaults = _in_child(_splink_defaults, N_RECORDS)
    rows = [
        f"| entity resolution, {N_RECORDS:,} synthetic person records: train + predict + cluster "
        f"| {ours['seconds']} s, peak {ours['peak_rss_gb']} GB, F1 {ours['f1']} (P {ours['precision']}, "
        f"R {ours['recall']}), blocking recall {ours['blocking_recall']} (targets ≤ 360 s, ≤ 6 GB, F1 ≥ 0.93, ≥ 0.95) "
        f"| exact name + DOB: F1 {exact['f1']} (R {exact['recall']}); Splink defaults: {defaults['seconds']} s, "
        f"F1 {defaults['f1']} (R {defaults['recall']}), blocking recall {defaults['blocking_recall']} "
        f"| F1 +{ours['f1'] - max(exact['f1'], defaults['f1']):.3f} |"
    ]
    result = {
        "records": N_RECORDS,
        "seed": SEED,
        "load_average_at_start": load,
        "openilp": ours,
        "exact_name_dob": exact,
        "splink_defaults": defaults,
        "table_rows": rows,
    }
    write_result("entities", result)
    return result

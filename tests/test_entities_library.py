"""Entity resolution, the pure library: normalisation, blocking recall, the Splink model and its
collapse check, constrained clustering and pairwise scores, on the FEBRL files with known truth."""

from __future__ import annotations

import copy
import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from entities_support import FEBRL_MAPPING, febrl_persons
from hypothesis import given, settings
from hypothesis import strategies as st

from openilp.entities import (
    RECALL_RULES,
    DegenerateModel,
    PersonMatcher,
    blocking_recall,
    check_model,
    cluster_pairs,
    normalise_persons,
    pairwise_scores,
)
from openilp.entities.mapping import MappingError, load_person_mapping, parse_person_mapping
from openilp.entities.normalize import clean_name, parse_date_of_birth, transposed_date

# --- normalisation -------------------------------------------------------------------------------


def test_names_are_cleaned_and_nicknames_folded() -> None:
    people = normalise_persons(
        pd.DataFrame(
            {
                "record_id": [1, 2, 3],
                "first_name": ["Bill", "  WILLIAM ", "Peggy"],
                "surname": ["O'Brien", "obrien", "Smyth"],
            }
        )
    )
    assert people["surname"].tolist() == ["obrien", "obrien", "smyth"]
    assert people["first_name_canonical"].tolist() == ["william", "william", "margaret"]
    assert people["record_id"].tolist() == ["1", "2", "3"]
    assert clean_name("   ") is None


def test_dates_of_birth_impossible_transposed_and_kept_as_digits() -> None:
    assert parse_date_of_birth("1900-02-30", ("%Y-%m-%d",)) == (None, "not a real date: 1900-02-30")
    assert parse_date_of_birth("", ("%Y-%m-%d",)) == (None, None)
    assert transposed_date(dt.date(1990, 3, 4)) == dt.date(1990, 4, 3)
    assert transposed_date(dt.date(1990, 3, 13)) is None  # no 13th month
    assert transposed_date(dt.date(1990, 5, 5)) is None  # the same date
    people = normalise_persons(
        pd.DataFrame({"record_id": ["a", "b"], "surname": ["x", "y"], "date_of_birth": ["19371233", "19840702"]}),
        date_formats=("%Y%m%d",),
    )
    assert people["dob"].tolist() == [None, "1984-07-02"]
    assert people["dob_text"].tolist() == ["19371233", "19840702"]  # a typo'd date still compares by its digits
    assert people["dob_transposed"].tolist() == [None, "1984-02-07"]


def test_protected_attributes_never_enter_resolution() -> None:
    frame = pd.DataFrame({"record_id": ["1"], "surname": ["lee"], "Race": ["x"]})
    with pytest.raises(ValueError, match="protected attributes"):
        normalise_persons(frame)
    persons = normalise_persons(frame.drop(columns="Race"))
    with pytest.raises(ValueError, match="protected attributes"):
        PersonMatcher().fit(persons.assign(religion="y"))
    with pytest.raises(MappingError, match="protected"):
        parse_person_mapping('[source]\nname="x"\n[columns]\nrecord_id="id"\nsurname="s"\nrace="r"\n')
    # Nothing the model compares or blocks on is a protected attribute.
    from openilp.entities import FIELDS, PROTECTED_COLUMNS

    used = {c for columns in FIELDS.values() for c in columns} | {c for r in RECALL_RULES for c in r.columns()}
    assert not used & PROTECTED_COLUMNS


# --- the mapping ---------------------------------------------------------------------------------


def test_febrl_mapping_is_valid() -> None:
    mapping = load_person_mapping(FEBRL_MAPPING)
    assert mapping.name == "febrl"
    assert mapping.columns["first_name"] == "given_name"
    assert mapping.date_formats == ("%Y%m%d",)
    assert mapping.skip_initial_space


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[source]\nname="x"\n[columns]\nsurname="s"\n', "record_id is required"),
        ('[source]\nname="x"\n[columns]\nrecord_id="id"\n', "at least one of first_name and surname"),
        ('[source]\nname="X Y"\n[columns]\nrecord_id="id"\nsurname="s"\n', "name must be lower-case"),
        ('[source]\nname="x"\nencoding="klingon"\n[columns]\nrecord_id="id"\nsurname="s"\n', "encoding"),
        ('[source]\nname="x"\n[columns]\nrecord_id="id"\nshoe_size="s"\n', "unknown person field"),
        ('[source]\nname="x"\n[columns]\nrecord_id="id"\nsurname="s"\n[date_of_birth]\nformats=["dd"]\n', "strptime"),
        ("[source\n", "not valid TOML"),
    ],
)
def test_bad_mappings_name_the_key_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_person_mapping(text)


# --- blocking ------------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize(("number", "at_least"), [(1, 0.999), (2, 0.995), (3, 0.997)])
def test_blocking_recall_on_febrl(number: int, at_least: float) -> None:
    persons, truth = febrl_persons(number)
    recall = blocking_recall(persons, truth)
    assert recall["all"] >= at_least
    # Each rule finds something the exact name+DOB rule alone would not: together they beat every one.
    assert recall["all"] > max(v for k, v in recall.items() if k != "all")


def test_blocking_recall_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    n = 60
    frame = normalise_persons(
        pd.DataFrame(
            {
                "record_id": [str(i) for i in range(n)],
                "first_name": rng.choice(["ann", "anne", "bob", "lee", "kim"], n),
                "surname": rng.choice(["kim", "lee", "smith", "smyth"], n),
                "date_of_birth": rng.choice(["1990-01-02", "1990-02-01", "1985-05-05", None], n),
                "postcode": rng.choice(["1000", "2000", None], n),
            }
        )
    )
    truth = rng.integers(0, 12, n)
    expected_found = expected_total = 0
    rows = frame.to_dict("records")
    for i, j in itertools.combinations(range(n), 2):
        if truth[i] != truth[j]:
            continue
        expected_total += 1
        hit = False
        for rule in RECALL_RULES:
            for a, b in ((rows[i], rows[j]), (rows[j], rows[i])):
                if all(a[x] is not None and a[x] == b[y] for x, y in rule.equal) and all(
                    pd.isna(a[c]) or pd.isna(b[c]) for c in rule.when_missing
                ):
                    hit = True
        expected_found += hit
    assert blocking_recall(frame, truth)["all"] == pytest.approx(expected_found / expected_total)


def test_common_names_alone_are_no_key_but_rare_names_and_missing_dates_are() -> None:
    # Eleven John Smiths born in different years: too common to pair on the name alone. Two Xavier
    # Quills born in different years: a rare name pairs them. A John Smith without a date of birth
    # meets the others by the name, because no date-based rule can reach him.
    first = ["john"] * 12 + ["xavier", "xavier"]
    dobs = [f"{1950 + i}-03-04" for i in range(11)] + [None, "1971-01-01", "1990-05-06"]
    frame = normalise_persons(
        pd.DataFrame(
            {
                "record_id": [str(i) for i in range(14)],
                "first_name": first,
                "surname": ["smith"] * 12 + ["quill", "quill"],
                "date_of_birth": dobs,
            }
        )
    )
    assert frame["rare_names"].iloc[:12].isna().all() and frame["rare_names"].iloc[12] is not None
    recall = blocking_recall(frame, ["js1", "js2"] + ["other"] * 9 + ["js1", "xq", "xq"])
    assert recall["rare_names"] > 0 and recall["phonetic_names_no_dob"] > 0
    common_pair = blocking_recall(frame.iloc[:2], ["same", "same"])
    assert common_pair["all"] == 0.0, "two John Smiths born years apart must not be a candidate pair"
    assert blocking_recall(frame.iloc[12:], ["same", "same"])["all"] == 1.0


def test_duckdb_memory_limit_must_be_a_size() -> None:
    persons, _ = febrl_persons(1)
    with pytest.raises(ValueError, match="not a size such as '2GB'"):
        PersonMatcher(duckdb_memory_limit="2GB'; DROP TABLE x; --").fit(persons)


def test_asymmetric_rules_are_sent_both_ways() -> None:
    crossed = next(r for r in RECALL_RULES if r.name == "crossed_name_dob")
    assert not crossed.is_symmetric() and len(crossed.sql_both_ways()) == 2
    swapped = next(r for r in RECALL_RULES if r.name == "swapped_names_year")
    assert swapped.is_symmetric() and len(swapped.sql_both_ways()) == 1


# --- scores and clustering -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=25))
def test_pairwise_scores_match_brute_force(labels: list[tuple[int, int]]) -> None:
    predicted = [p for p, _ in labels]
    truth = [t for _, t in labels]
    tp = pp = tt = 0
    for i, j in itertools.combinations(range(len(labels)), 2):
        same_p, same_t = predicted[i] == predicted[j], truth[i] == truth[j]
        tp += same_p and same_t
        pp += same_p
        tt += same_t
    scores = pairwise_scores(predicted, truth)
    assert (scores.true_positives, scores.predicted_pairs, scores.true_pairs) == (tp, pp, tt)
    assert 0.0 <= scores.f1 <= 1.0


def test_clustering_obeys_decisions_and_established_entities() -> None:
    ids = ["a", "b", "c", "d", "e"]
    pairs = pd.DataFrame(
        {
            "record_id_l": ["a", "b", "c", "d"],
            "record_id_r": ["b", "c", "d", "e"],
            "match_probability": [0.99, 0.98, 0.97, 0.10],
        }
    )
    assert len(set(cluster_pairs(ids, pairs, threshold=0.9).values())) == 2
    # "not a match" between a and d: the chain a-b-c-d is cut at the weakest allowed point.
    split = cluster_pairs(ids, pairs, threshold=0.9, cannot_link=[("a", "d")])
    assert split["a"] != split["d"] and split["a"] == split["b"] == split["c"]
    # "match" joins whatever the model says.
    joined = cluster_pairs(ids, pairs, threshold=0.9, must_link=[("d", "e")])
    assert joined["e"] == joined["a"]
    # Two established entities are never merged by the model alone, only by a decision.
    anchors = {"a": 1, "c": 2}
    kept = cluster_pairs(ids, pairs, threshold=0.9, anchors=anchors)
    assert kept["a"] != kept["c"]
    merged = cluster_pairs(ids, pairs, threshold=0.9, anchors=anchors, must_link=[("a", "c")])
    assert merged["a"] == merged["c"]


# --- the model on FEBRL --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def febrl1_model() -> PersonMatcher:
    persons, _ = febrl_persons(1)
    return PersonMatcher().fit(persons)


@pytest.mark.realdata
@pytest.mark.parametrize("number", [1, 2, 3])
def test_febrl_dedupe_f1(number: int) -> None:
    persons, truth = febrl_persons(number)
    matcher = PersonMatcher().fit(persons)
    assert matcher.check_.ok
    pairs = matcher.predict(0.5)
    labels = cluster_pairs(persons["record_id"].tolist(), pairs, threshold=0.999)
    scores = pairwise_scores([labels[r] for r in persons["record_id"]], truth)
    assert scores.f1 >= 0.995, scores.as_dict()
    assert scores.precision >= 0.995


@pytest.mark.realdata
def test_predictions_explain_each_field(febrl1_model: PersonMatcher) -> None:
    pairs = febrl1_model.predict(0.5)
    weights = pairs[[f"mw_{name}" for name in febrl1_model.fields_]].sum(axis=1) + febrl1_model.prior_weight()
    # The match weight is the prior plus every field's contribution (term frequencies included).
    assert np.allclose(weights, pairs["match_weight"], atol=1e-6)
    assert (pairs["record_id_l"] < pairs["record_id_r"]).all()


@pytest.mark.realdata
def test_collapsed_model_is_refused_with_reasons(febrl1_model: PersonMatcher) -> None:
    collapsed = copy.deepcopy(febrl1_model.model_)
    for comparison in collapsed["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        for level in levels:
            level["m_probability"], level["u_probability"] = level.get("u_probability"), level.get("m_probability")
    check = check_model(collapsed, 1000)
    assert not check.ok
    assert any("surname: its most specific level" in p and "not more likely among matches" in p for p in check.problems)
    broad = dict(febrl1_model.model_, probability_two_random_records_match=0.5)
    assert any("more than 20 per record" in p for p in check_model(broad, 1000).problems)


@pytest.mark.realdata
def test_training_on_scrambled_fields_is_refused() -> None:
    persons, _ = febrl_persons(1)
    rng = np.random.default_rng(0)
    scrambled = persons.copy()
    for column in scrambled.columns:
        if column != "record_id":
            scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    with pytest.raises(DegenerateModel, match="nothing was linked"):
        PersonMatcher().fit(scrambled)


# --- the synthetic generator ---------------------------------------------------------------------


def test_synthetic_persons_are_seeded_and_corrupted_at_the_documented_rates() -> None:
    from openilp.entities.synthetic import synthetic_persons

    first = synthetic_persons(20_000, seed=3)
    again = synthetic_persons(20_000, seed=3)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 20_000 and first["record_id"].is_unique
    sizes = first.groupby("person_id").size()
    assert 1.8 < sizes.mean() < 2.2  # records per person, mean 2
    assert first["identifier"].isna().mean() == pytest.approx(0.1 + 0.9 * 0.2 * 0.5, abs=0.03)
    # Duplicates differ from the person's first record about as often as the rates say.
    by_person = first.sort_values("record_id").groupby("person_id")
    originals = by_person.head(1).set_index("person_id")
    copies = first[~first["record_id"].isin(by_person.head(1)["record_id"])].merge(
        originals.add_suffix("_0"), left_on="person_id", right_index=True
    )
    moved = (copies["street_number"] != copies["street_number_0"]).mean()
    assert 0.10 < moved < 0.20  # moved 15 % (a new street number is almost always different)
    dob_changed = (copies["date_of_birth"].notna() & copies["date_of_birth_0"].notna()) & (
        copies["date_of_birth"] != copies["date_of_birth_0"]
    )
    assert 0.04 < dob_changed.mean() < 0.12  # transposed 3 % (when possible) + typo 5 %
    # No protected attribute is generated.
    assert not set(first.columns) & {"race", "ethnicity", "religion", "national_origin"}

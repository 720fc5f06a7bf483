"""Entity resolution: people written many ways in many records, resolved into one entity each.

A pure library (no database, no web): person records are normalised
(:mod:`~openilp.entities.normalize`), paired by recall-first blocking rules
(:mod:`~openilp.entities.blocking`), scored by a Fellegi–Sunter model trained on Splink and
checked for collapse (:mod:`~openilp.entities.model`), clustered with human decisions as
constraints (:mod:`~openilp.entities.clustering`) and evaluated pairwise
(:mod:`~openilp.entities.evaluation`). Person files are read through a declarative TOML mapping
(:mod:`~openilp.entities.mapping`). The services store mentions and entities and keep entity IDs
stable across runs; see ``docs/entities.md``.
"""

from __future__ import annotations

from openilp.entities.blocking import EXACT_NAME_DOB_RULES, RECALL_RULES, BlockingRule, blocking_recall, true_pairs
from openilp.entities.clustering import cluster_pairs
from openilp.entities.evaluation import PairwiseScores, pairwise_scores
from openilp.entities.model import FIELDS, DegenerateModel, ModelCheck, PersonMatcher, check_model
from openilp.entities.normalize import DERIVED_COLUMNS, PERSON_COLUMNS, PROTECTED_COLUMNS, normalise_persons

__all__ = [
    "BlockingRule",
    "DegenerateModel",
    "DERIVED_COLUMNS",
    "EXACT_NAME_DOB_RULES",
    "FIELDS",
    "ModelCheck",
    "PairwiseScores",
    "PERSON_COLUMNS",
    "PROTECTED_COLUMNS",
    "PersonMatcher",
    "RECALL_RULES",
    "blocking_recall",
    "check_model",
    "cluster_pairs",
    "normalise_persons",
    "pairwise_scores",
    "true_pairs",
]

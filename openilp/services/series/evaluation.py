"""Evaluating crime-series linkage on files in the ``crimelinkage`` layout (solved crimes + offenders).

Reads ``CRIMES.csv`` and ``OFFENDERS.csv`` (:mod:`openilp.ingest.crimelinkage`), builds the evidence
variables with every modus-operandi column of the file, and runs the repeated out-of-sample
evaluation of :func:`openilp.analysis.linkage.evaluation.evaluate_linkage`. It reads files only:
no store is opened, so the core object may be ``None`` (the command line passes none).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openilp.core.contract import Request, Result, plain, require
from openilp.errors import InvalidRequest

if TYPE_CHECKING:
    from openilp.core import OpenILP
    from openilp.security.actors import UserInfo

__all__ = ["HEADLINE_MODEL", "EvaluateLinkageRequest", "LinkageEvaluation", "evaluate_linkage_files"]

#: The model whose means the command prints first (fixed in advance, not picked on test results).
HEADLINE_MODEL = "boosted"


@dataclass(frozen=True)
class EvaluateLinkageRequest(Request):
    """Files, repeats, split and sampling of a linkage evaluation (defaults: the published protocol)."""

    crimes_path: Path
    offenders_path: Path
    repeats: int = 5
    train_fraction: float = 0.7
    split: str = "pairs"
    threshold_days: float = 365.0
    unlinked_per_group: int = 40
    models: tuple[str, ...] = ("boosted", "logistic", "naive_bayes")
    seed: int = 1

    def validate(self) -> EvaluateLinkageRequest:
        from openilp.analysis.linkage.evaluation import SPLITS
        from openilp.analysis.linkage.models import MODEL_NAMES

        require(1 <= self.repeats <= 100, "repeats: give 1 to 100 repeated splits (5 is the published protocol)")
        require(0.1 <= self.train_fraction <= 0.9, "train_fraction: give a share between 0.1 and 0.9 (e.g. 0.7)")
        require(self.split in SPLITS, f"split: choose one of {', '.join(SPLITS)}")
        require(self.threshold_days > 0, "threshold_days: give a positive number of days (e.g. 365)")
        require(1 <= self.unlinked_per_group <= 1000, "unlinked_per_group: give 1 to 1000 (e.g. 40)")
        require(bool(self.models), "models: name at least one model")
        for name in self.models:
            require(name in MODEL_NAMES, f"models: {name!r} is not one of {', '.join(MODEL_NAMES)}")
        return self


@dataclass(frozen=True)
class LinkageEvaluation(Result):
    """Per-model metric summaries over the splits, the splits themselves and the data counts."""

    crimes: int
    solved_crimes: int
    offenders: int
    features: tuple[str, ...]
    split: str
    repeats: int
    headline_model: str
    summary: dict[str, dict[str, Any]]
    splits: tuple[Any, ...]

    @property
    def headline(self) -> dict[str, float]:
        row = self.summary[self.headline_model]
        return {
            "auc": row["auc"].mean,
            "precision_at_50": row["precision_at_50"].mean,
            "weighted_auc": row["weighted_auc"].mean,
        }

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: plain(getattr(self, f.name)) for f in fields(self)}
        data["headline"] = self.headline
        return data


def evaluate_linkage_files(
    core: OpenILP | None, actor: UserInfo | None, request: EvaluateLinkageRequest
) -> LinkageEvaluation:
    """Repeated-split evaluation of the linkage models on the two files (no store is read or written)."""
    from openilp.analysis.linkage.evaluation import evaluate_linkage
    from openilp.analysis.linkage.features import CrimeTable
    from openilp.ingest.crimelinkage import CrimelinkageFormatError, read_crimelinkage

    request = request.validate()
    try:
        data = read_crimelinkage(request.crimes_path, request.offenders_path)
        table = CrimeTable.from_frame(data.crimes, fields=data.mo_fields)
    except (CrimelinkageFormatError, ValueError) as exc:
        raise InvalidRequest(str(exc)) from exc
    crime_ids = data.crimes["crime_id"].tolist()
    try:
        result = evaluate_linkage(
            table,
            crime_ids,
            data.offender_links,
            models=request.models,
            repeats=request.repeats,
            train_fraction=request.train_fraction,
            threshold_days=request.threshold_days,
            m=request.unlinked_per_group,
            seed=request.seed,
            split=request.split,
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    known = set(crime_ids)
    solved = {c for _, c in data.offender_links if c in known}
    headline = request.models[0] if HEADLINE_MODEL not in request.models else HEADLINE_MODEL
    return LinkageEvaluation(
        crimes=len(crime_ids),
        solved_crimes=len(solved),
        offenders=len({o for o, c in data.offender_links if c in known}),
        features=tuple(result["features"]),
        split=request.split,
        repeats=request.repeats,
        headline_model=headline,
        summary=result["summary"],
        splits=tuple(result["splits"]),
    )

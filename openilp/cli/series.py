"""``openilp series``: crime-series linkage from the command line.

``openilp series evaluate CRIMES.csv OFFENDERS.csv`` runs the repeated out-of-sample evaluation of
the linkage models on solved crimes in the ``crimelinkage`` layout and prints AUC and
precision@50 means with their spread. A thin shell over :mod:`openilp.services.series`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from openilp.cli.common import console, emit_json, fail

#: The ``openilp series`` group (added by :mod:`openilp.cli.main`).
app = typer.Typer(help="Crime-series linkage: evaluate the linkage models on solved crimes.")


@app.command("evaluate")
def evaluate_command(
    crimes: Path = typer.Argument(..., help="CRIMES.csv: crimeID, X, Y, DATE_FROM, TIME_FROM, DATE_TO, TIME_TO, MO…"),
    offenders: Path = typer.Argument(..., help="OFFENDERS.csv: offenderID, crimeID (the solved crimes)."),
    repeats: int = typer.Option(5, "--repeats", help="Repeated random splits."),
    split: str = typer.Option("pairs", "--split", help="pairs (held-out pairs) or groups (held-out offenders)."),
    train_fraction: float = typer.Option(0.7, "--train-fraction", help="Share of pairs (or groups) to train on."),
    model: list[str] = typer.Option(
        ["boosted", "logistic", "naive_bayes"], "--model", help="Models to evaluate (repeat the option)."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the first split (the others follow)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Repeated-split evaluation: AUC, weighted AUC, precision@50/100 and hit@10 per model."""
    from openilp.errors import ServiceError
    from openilp.services.series import EvaluateLinkageRequest, evaluate_linkage_files

    request = EvaluateLinkageRequest(
        crimes_path=crimes,
        offenders_path=offenders,
        repeats=repeats,
        split=split,
        train_fraction=train_fraction,
        models=tuple(model),
        seed=seed,
    )
    try:
        result = evaluate_linkage_files(None, None, request)
    except ServiceError as exc:
        fail(str(exc))
    if as_json:
        emit_json(result.as_dict())
        return
    head = result.headline
    console.print(
        f"{result.solved_crimes} solved of {result.crimes} crimes, {result.offenders} offenders; "
        f"{result.repeats} {result.split} splits; features: {', '.join(result.features)}"
    )
    console.print(
        f"[bold]{result.headline_model}[/]: AUC {head['auc']:.3f}, precision@50 {head['precision_at_50']:.3f} "
        f"(means over {result.repeats} splits)"
    )
    table = Table(title="Held-out pairs: mean (min–max)")
    for column in ("score", "AUC", "weighted AUC", "precision@50", "precision@100", "hit@10"):
        table.add_column(column)
    for name, row in result.summary.items():
        cells = [
            f"{row[key].mean:.3f} ({row[key].minimum:.3f}–{row[key].maximum:.3f})"
            for key in ("auc", "weighted_auc", "precision_at_50", "precision_at_100", "hit_at_10")
        ]
        table.add_row(name, *cells)
    console.print(table)

"""``openilp synth``: synthetic data at the scale of a state or a country, for benchmarks and tests."""

from __future__ import annotations

from pathlib import Path

import typer

from openilp.cli.common import console, emit_json, progress_bar, service

app = typer.Typer(help="Synthetic data for tests and benchmarks of scale (no store needed).", no_args_is_help=True)


@app.command("incidents")
def incidents_command(
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder to write part-NNNNN.parquet and agencies.json into."
    ),
    rows: int = typer.Option(1_000_000, "--rows", help="Incidents in all."),
    agencies: int = typer.Option(40, "--agencies", help="Synthetic agencies (log-normal sizes)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same rows."),
    years: int = typer.Option(10, "--years", help="Years of history, from 2015-01-01."),
    chunk_rows: int = typer.Option(1_000_000, "--chunk-rows", help="Most rows per file (bounds the memory used)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Write seeded synthetic incident histories of many agencies as Parquet.

    Each agency copies the background intensity, weekly and seasonal rhythm, offence mix and
    near-repeat triggering fitted from real St. Louis or Chicago data, at its own place (all in
    EPSG:5070). Load the folder into a store with 'openilp load-parquet'.
    """
    from openilp.services.imports.synthetic import SyntheticRequest, write_synthetic_incidents

    request = service(
        lambda: SyntheticRequest(
            output=output, rows=rows, agencies=agencies, seed=seed, years=years, chunk_rows=chunk_rows
        ).validate()
    )
    with progress_bar("generating", disable=as_json) as report_progress:
        report = service(
            lambda: write_synthetic_incidents(request, lambda done, total: report_progress("rows", done, total))
        )
    if as_json:
        emit_json(report.as_dict())
    else:
        console.print(
            f"{report.rows:,} incidents of {len(report.agencies)} agencies in {report.files} files "
            f"under {report.output} ({report.seconds:.1f} s)"
        )

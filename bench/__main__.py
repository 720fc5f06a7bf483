"""Run the benchmarks: ``python -m bench [name ...]`` (all by default), then update docs/benchmarks.md."""

from __future__ import annotations

import json
import sys

from bench import (
    bench_cli_startup,
    bench_deconfliction,
    bench_entities,
    bench_forecast,
    bench_gistar,
    bench_import,
    bench_knox,
    bench_load,
    bench_networks,
    bench_products,
    bench_scale,
    bench_series,
    bench_spark_scale,
    bench_toprank,
    bench_toprank_dev,
    bench_trends_stlouis,
)
from bench.common import RESULTS_DIR
from bench.report import write_summary

BENCHMARKS = {
    "import_stlouis": bench_import.run,
    "knox": bench_knox.run,
    "gistar": bench_gistar.run,
    "forecast_speed": bench_forecast.run,
    "backtest_stlouis": bench_forecast.run_stlouis,
    "backtest_vancouver": bench_forecast.run_vancouver,
    "backtest_chicago": bench_forecast.run_chicago,
    "cli_startup": bench_cli_startup.run,
    "trends_stlouis": bench_trends_stlouis.run,
    "products_compstat": bench_products.run,
    "products_strategic": bench_products.run_strategic,
    "toprank_chicago": bench_toprank.run_chicago,
    "toprank_stlouis": bench_toprank.run_stlouis,
    "toprank_vancouver": bench_toprank.run_vancouver,
    "toprank_dev": bench_toprank_dev.run,
    "series_linkage": bench_series.run_linkage,
    "networks": bench_networks.run,
    "load_web": bench_load.run,
    "entities": bench_entities.run,
    "spark_scale": bench_spark_scale.run,
    "scale_postgres": bench_scale.run,
    "deconfliction": bench_deconfliction.run,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}", flush=True)
        result = BENCHMARKS[name]()
        print(json.dumps(result, indent=2))
    write_summary(RESULTS_DIR)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

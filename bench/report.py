"""Write the measured results into the table of ``docs/benchmarks.md`` (between markers)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import REPO_ROOT

DOC = REPO_ROOT / "docs" / "benchmarks.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
#: The results the table shows, one per benchmark (committed, so that running one benchmark keeps
#: the others' published rows).
PUBLISHED = REPO_ROOT / "bench" / "published.json"


def _rows(result: dict) -> list[str]:
    if result["benchmark"] == "import_stlouis":
        rows = []
        base = result["baseline_parse_s"]
        for backend in ("sqlite", "postgresql"):
            r = result.get(backend, {})
            if "error" in r:
                rows.append(f"| import St. Louis ({result['rows']:,} rows) → {backend} | – | {r['error']} | – |")
                continue
            rows.append(
                f"| import St. Louis ({result['rows']:,} rows) → {backend} | {r['import_s']} s "
                f"({r['rows_per_s']:,} rows/s) | pandas parse {base} s | {r['ratio_to_parse']}× |"
            )
        sqlite = result.get("sqlite", {})
        if "store_floor_s" in sqlite:
            rows.append(
                f"| store floor: SQLite copying the {sqlite['incidents_created']:,} finished incidents "
                f"(INSERT … SELECT) | {sqlite['store_floor_s']} s | pandas parse {base} s "
                f"(with type inference {result.get('pandas_inferred_parse_s', '–')} s) "
                f"| {sqlite['store_floor_ratio_to_parse']}× |"
            )
        return rows
    if result["benchmark"] == "knox":
        return _knox_rows(result)
    if result["benchmark"] == "load_web":
        return _load_rows(result)
    if result["benchmark"] == "gistar_chicago":
        return [
            f"| Gi* with {result['permutations']} permutations, {result['cells']:,} cells ({result['data']}) "
            f"| {result['openilp_s']} s ({result['openilp_9999_s']} s with 9,999) "
            f"| esda G_Local {result['esda_s']} s (after {result['esda_compile_s']} s numba compile) "
            f"| {result['speedup']}× |"
        ]
    if result["benchmark"] == "forecast_speed":
        g, s = result["grid_forecast"], result["sepp_fit"]
        return [
            f"| grid forecast fit + predict, {g['cells']:,} cells, {g['events']:,} Chicago burglaries "
            f"| naive {g['naive']} s, KDE {g['kde']} s, prospective {g['prospective']} s | target < 1 s | – |",
            f"| point-process EM, {s['events']:,} burglaries (Chicago 2016), {s['pairs']:,} pairs "
            f"| {s['fit_s']} s ({s['iterations']} iterations) | target < 10 s | – |",
        ]
    if result["benchmark"] == "cli_startup":
        return [
            f"| `openilp {flag}`, fresh process, best of {result['repeat']} "
            f"| {r['lazy']['best_s']} s, {r['lazy']['peak_rss_mb']:.0f} MB peak (target < {result['target_s']:g} s) "
            f"| eager imports (the CLI before) {r['eager_baseline']['best_s']} s, "
            f"{r['eager_baseline']['peak_rss_mb']:.0f} MB | {r['ratio']}× |"
            for flag, key in (("--help", "help"), ("--version", "version"), ("knox --help", "knox_help"))
            if (r := result.get(key))
        ]
    if result["benchmark"] == "products_compstat":
        ours, table = result["openilp"], result["table_only"]
        return [
            f"| CompStat pack of a district from a cold start ({result['data']}: {ours['pages']} pages, "
            f"{ours['trend_rows']} trend rows, {ours['tlp']}) | {ours['seconds']} s "
            f"({ours['imports_s']} s of imports; target < 20 s; load average "
            f"{result['load_average_at_start'][0]:g} at start) | the trend table alone {table['seconds']} s "
            f"| the pack adds {round(ours['seconds'] - table['seconds'], 1)} s for the map, chart, neighbourhoods, "
            f"near repeats and PDF |"
        ]
    if result["benchmark"] == "products_strategic":
        ours, table = result["openilp"], result["table_only"]
        return [
            f"| strategic assessment of a year from a cold start ({result['data']}: {ours['pages']} pages, "
            f"{ours['tlp']}) | {ours['seconds']} s ({ours['imports_s']} s of imports; no target, the pack's is "
            f"20 s; load average {result['load_average_at_start'][0]:g} at start) | the year's trend table alone "
            f"{table['seconds']} s | the assessment adds {round(ours['seconds'] - table['seconds'], 1)} s for "
            f"places, displacement, forecast accuracy, civil-rights audits, charts and PDF |"
        ]
    if result["benchmark"] == "trends_stlouis":
        ours, theirs = result["openilp"], result["statsmodels"]
        return [
            f"| trend alerts St. Louis from a cold start ({ours['incidents']:,} incidents, {ours['rows']:,} rows, "
            f"counts up to {max(ours['largest_counts']):,}) "
            f"| {ours['seconds']} s, peak RSS {ours['peak_rss_mb']:,.0f} MB "
            f"(target < 5 s, < 500 MB) | statsmodels E-test {theirs['seconds']} s, {theirs['peak_rss_mb']:,.0f} MB "
            f"(p-values equal within {result['max_p_value_difference']:.0e}) "
            f"| {result['speedup']}× faster, {result['memory_ratio']}× less memory |"
        ]
    if result["benchmark"] == "toprank_dev":
        return _toprank_dev_rows(result)
    if result["benchmark"].startswith("toprank_"):
        return _toprank_rows(result)
    if result["benchmark"].startswith("backtest_"):
        periods = max(c["periods"] for c in result["categories"].values())
        return [
            f"| weekly backtest {result['city']} {result['span'][0]} … {result['span'][1]}, every method, "
            f"{len(result['categories'])} categories × {periods} weeks | {result['backtest_s']} s"
            f"{f' (CPU {cpu} s)' if (cpu := result.get('cpu_s')) else ''} "
            f"| {'target < 300 s' if 'target_s' in result else '–'} | – |"
        ]
    if "table_rows" in result:  # a benchmark that writes its own rows
        return [str(row) for row in result["table_rows"]]
    return []


def _toprank_rows(result: dict) -> list[str]:
    """One row per run: toprank's PAI at 1 / 2 / 5 % against the tuned blend (same run, same weeks)."""
    rows = []
    for run in result["runs"]:
        methods = run["methods"]

        def pai(method: str, methods: dict = methods) -> str:
            return " / ".join(f"{methods[method][f'pai@{c}'][0]:.2f}" for c in ("0.01", "0.02", "0.05"))

        versus = {(c["baseline"], c["metric"]): c for c in run["toprank_vs"]}
        blend = versus[("blend", "pai@0.01")]
        others = [
            f"{label} {pai(name)}"
            for name, label in (
                ("blend_reference", "reference blend"),
                ("naive", "naive"),
                ("learned", "learned"),
                ("toprank_ensemble", "toprank's ten best averaged (not the default)"),
                ("toprank_prospective", "toprank with a prospective boost, 2 % weighed twice (not the default)"),
            )
            if name in methods
        ]
        ratios = [
            f"{blend['ratio']:.3f}× the tuned blend ({blend['difference']:+.2f} [{blend['ci_low']:+.2f}, "
            f"{blend['ci_high']:+.2f}])"
        ]
        if ("blend_reference", "pai@0.01") in versus:
            ratios.append(f"{versus[('blend_reference', 'pai@0.01')]['ratio']:.3f}× the reference blend")
        naive = versus[("naive", "pai@0.01")]
        ratios.append(
            f"{naive['ratio']:.3f}× naive ({naive['difference']:+.2f} "
            f"[{naive['ci_low']:+.2f}, {naive['ci_high']:+.2f}])"
        )
        load = run.get("load_average_at_start")
        rows.append(
            f"| PAI@1 / 2 / 5 %, weekly {result['city']} {run['category']} {run['span'][0]} … {run['span'][1]} "
            f"({run['periods']} weeks, {run['cells']:,} cells of 150 m"
            f"{f'; load average {load[0]:g} at start' if load else ''}) | toprank {pai('toprank')} "
            f"| tuned blend {pai('blend')}; {'; '.join(others)} | @1 %: {', '.join(ratios)} |"
        )
    return rows


def _toprank_dev_rows(result: dict) -> list[str]:
    """One row per development city: the default's PAI and each variant's relative gain at 1 / 2 / 5 %."""
    rows = []
    for i, (city, run) in enumerate(result["cities"].items()):
        gains = "; ".join(
            f"{name} " + " / ".join(f"{g:+.1%}" for g in result["relative_gains"][name][3 * i : 3 * i + 3])
            for name in result["relative_gains"]
        )
        default = " / ".join(f"{p:.2f}" for p in run["pai"]["toprank"])
        rows.append(
            f"| toprank variants on development weeks, PAI@1 / 2 / 5 %, {city} burglary {run['span'][0]} … "
            f"{run['span'][1]} ({run['periods']} weeks, {run['cells']:,} cells) | toprank {default} "
            f"| relative gains: {gains} | chosen: {result['chosen'] or 'none'} |"
        )
    return rows


def _load_rows(result: dict) -> list[str]:
    rows = []
    labels = {"tips": "anonymous tip submissions", "month_geojson": "a month of incident GeoJSON"}
    for backend in ("sqlite", "postgresql"):
        measured = result.get(backend)
        if not measured:
            continue
        for scenario, label in labels.items():
            r = measured[scenario]
            rows.append(
                f"| web load, {label}, {result['concurrency']} clients, {backend} ({r['requests']} requests) "
                f"| {r['requests_per_s']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, {r['errors']} errors "
                f"| target ≥ {r['target_requests_per_s']:g} req/s, p99 < {r['target_p99_ms']:g} ms "
                f"| {'met' if r['meets_target'] else 'not met'} |"
            )
    return rows


def _knox_rows(result: dict) -> list[str]:
    rows = []
    for dataset, label in (("stlouis", "St. Louis"), ("chicago", "Chicago")):
        r = result.get(dataset)
        if not r:
            continue
        one, two = r["n_jobs_1"], r["n_jobs_2"]
        base = r["all_pairs_baseline"]
        rows.append(
            f"| Knox 10×10 bands, {result['permutations']} permutations, {label} ({one['events']:,} burglaries, "
            f"{one['pairs_within_1km']:,} pairs ≤ 1 km) | {one['fit_s']} s (1 thread), {two['fit_s']} s (2 threads); "
            f"peak RSS {max(one['peak_rss_mb'], two['peak_rss_mb']):,.0f} MB | all pairs: {base['measured_s']} s for "
            f"{base['subsample']:,} events × {base['permutations'] + 1} tables, scaled {base['scaled_to_full_s']:,} s "
            f"| {r['speedup_vs_all_pairs']:,}× |"
        )
    return rows


def write_summary(results_dir: Path) -> None:
    """Rewrite the results table from this machine's results, and, for benchmarks not run here,
    from the published record (``bench/published.json``, committed), which is then updated."""
    published: dict[str, dict] = json.loads(PUBLISHED.read_text()) if PUBLISHED.exists() else {}
    for path in sorted(results_dir.glob("*.json")):
        result = json.loads(path.read_text())
        published[result["benchmark"]] = result
    PUBLISHED.write_text(json.dumps(published, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    lines = ["| benchmark | OpenILP | baseline (same run) | ratio |", "|---|---|---|---|"]
    measured = []
    for name in sorted(published):
        result = published[name]
        lines += _rows(result)
        load = result["machine"].get("load_average")
        measured.append(
            f"{result['benchmark']}: {result['measured_at']}, {result['machine']['cpus']} CPUs"
            + (f", load average {load[0]:g}" if load else "")
        )
    table = "\n".join(lines) + "\n\nMeasured: " + "; ".join(measured) + "\n"
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{table}{END}{tail}")

"""Benchmarks (``make bench``): each compares OpenILP against a named baseline in the same run.

Results go to ``bench/results/<name>.json``; ``docs/benchmarks.md`` summarises them.
"""

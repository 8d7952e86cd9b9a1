"""Performance benchmark of the reporting pipeline (GitHub issue "Performance").

Run ``.venv/bin/python -m bench.run --help``; what each figure means is in docs/benchmarks.md.
Every measurement runs in its own subprocess (``bench.worker``) against its own fresh
database, so timings and peak RSS are independent of each other and of the driver.
"""

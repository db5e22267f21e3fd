"""Benchmarks for Linkage: `python -m bench.search` (or `make bench`) writes bench/RESULTS.md.

Modules:

* `bench.synth`  — synthetic listings placed and scheduled like real ones (fixed seed).
* `bench.mix`    — the query mix, weighted like real searches.
* `bench.bare`   — the reference app: the same response bytes, precomputed.
* `bench.search` — builds the indexes, times searches, drives both servers with wrk.
"""

"""Benchmarks for Linkage: `python -m bench.search` (or `make bench`) writes bench/RESULTS.md.

Modules:

* `bench.synth`  — synthetic listings placed and scheduled like real ones (fixed seed),
  and Meeting Guide feeds of such meetings.
* `bench.mix`    — the query mix, weighted like real searches.
* `bench.bare`   — the reference app: the same response bytes, precomputed.
* `bench.search` — the driver: builds the indexes, times searches, drives both servers
  with wrk, runs the parts below and writes bench/RESULTS.md (all but bench.load's section).
* `bench.engine` — OpenSearch beside SQLite, and the API beside the raw engine query.
* `bench.imports` — Meeting Guide import throughput beside raw writes, and its profile.
* `bench.load`   — `make bench-load`: the production server under two minutes of mixed
  load per backend; writes its own section of bench/RESULTS.md.
* `bench.common` — RESULTS.md sections, percentiles, interleaved passes, the raw SQLite
  copy, request logs.
"""

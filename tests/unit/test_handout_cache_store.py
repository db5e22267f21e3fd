"""The render cache's bounds: bytes in total, age per entry, oldest out first; one file shared
by every process that opens it."""

from __future__ import annotations

import multiprocessing

from service.referrals.render_cache import RenderCache


class Clock:
    """Seconds that move only when told."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_the_oldest_go_first_when_the_bytes_run_out(tmp_path):
    clock = Clock()
    cache = RenderCache(tmp_path / "renders.sqlite", max_bytes=250, max_age_s=3600, clock=clock)
    for name in "abc":
        cache.put(name, name.encode() * 100)  # 100 bytes each
        clock.now += 1
    # a, b, c make 300 bytes: a (the oldest) went, b and c make 200.
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, b"b" * 100, b"c" * 100)
    assert cache.total_bytes() == 200
    cache.put("big", b"x" * 251)  # more than the whole cache: not kept, nothing evicted for it
    assert cache.get("big") is None and cache.total_bytes() == 200


def test_entries_older_than_the_maximum_age_are_not_served_and_are_evicted(tmp_path):
    clock = Clock()
    cache = RenderCache(tmp_path / "renders.sqlite", max_bytes=10_000, max_age_s=60, clock=clock)
    cache.put("old", b"old")
    clock.now += 61
    assert cache.get("old") is None
    cache.put("new", b"new")
    assert cache.total_bytes() == 3  # the old entry's bytes were given back


def test_zero_bytes_keeps_nothing(tmp_path):
    cache = RenderCache(tmp_path / "renders.sqlite", max_bytes=0, max_age_s=60)
    assert cache.fetch("k", lambda: b"body", lambda: None) == (b"body", True)
    assert cache.fetch("k", lambda: b"body", lambda: None) == (b"body", True)


def _put(path, key, body):
    RenderCache(path, max_bytes=10_000, max_age_s=60).put(key, body)


def test_another_process_reads_what_one_wrote(tmp_path):
    path = tmp_path / "renders.sqlite"
    writer = multiprocessing.get_context("spawn").Process(target=_put, args=(path, "pdf:1", b"%PDF-1.7 body"))
    writer.start()
    writer.join(60)
    assert writer.exitcode == 0
    reader = RenderCache(path, max_bytes=10_000, max_age_s=60)
    assert reader.fetch("pdf:1", lambda: b"rendered again", lambda: None) == (b"%PDF-1.7 body", False)


def test_a_refused_render_leaves_no_claim_behind(tmp_path):
    cache = RenderCache(tmp_path / "renders.sqlite", max_bytes=10_000, max_age_s=60)

    def refuse():
        raise PermissionError("over the allowance")

    try:
        cache.fetch("k", lambda: b"body", refuse)
    except PermissionError:
        pass
    # The next asker renders at once instead of waiting for a render that never comes.
    assert cache.claim("k") is True

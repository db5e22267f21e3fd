"""What an import leaves on disk: no old staging files, flushed files, a state that says
what happened (and survives being torn)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from service.backends.sqlite.backend import SQLiteBackend
from service.source_state import read_state
from tests.conftest import DEMO, ROOT

RECORDS = json.loads(DEMO.read_text(encoding="utf-8"))


def linkage(*args, prefix=()):
    """`linkage ARGS` in its own process (optionally under `prefix`, e.g. strace)."""
    return subprocess.run([*prefix, sys.executable, "-m", "indexers", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def feed(tmp_path, name, records):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def with_ids(prefix, records):
    return [{**r, "id": f"{prefix}:{r['id'].split(':', 1)[1]}"} for r in records]


def test_a_load_removes_staging_files_a_killed_load_left_over_an_hour_ago(tmp_path, demo_listings):
    index = tmp_path / "linkage.sqlite"
    stale = tmp_path / "linkage.sqlite.new-0123456789abcdef"
    fresh = tmp_path / "linkage.sqlite.new-fedcba9876543210"  # perhaps another load, still writing
    unrelated = tmp_path / "other.sqlite.new-0123"
    for leftover in (stale, fresh, unrelated):
        leftover.write_bytes(b"half an index")
    two_hours_ago = time.time() - 2 * 3600
    for old in (stale, unrelated):
        os.utime(old, (two_hours_ago, two_hours_ago))
    SQLiteBackend(index).load(demo_listings[:5])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["linkage.sqlite", fresh.name, unrelated.name])


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace to see the system calls")
def test_the_new_index_and_the_state_are_flushed_to_disk_around_their_renames(tmp_path):
    db = tmp_path / "linkage.sqlite"
    trace = tmp_path / "calls.txt"
    result = linkage("index", "--sqlite-path", str(db), str(feed(tmp_path, "alpha", with_ids("alpha", RECORDS[:4]))),
                     prefix=("strace", "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2",
                             "-o", str(trace)))
    assert result.returncode == 0, result.stderr
    calls = [line.split(None, 1)[1] for line in trace.read_text().splitlines() if " " in line]  # less the pid

    def position(pattern):
        found = [i for i, call in enumerate(calls) if re.search(pattern, call)]
        assert found, f"no call matching {pattern!r} in {calls}"
        return found[0]

    folder, sources = re.escape(str(tmp_path)), re.escape(str(tmp_path / "linkage.sqlite.sources"))
    staged = position(rf"^f(data)?sync\(\d+<{folder}/linkage\.sqlite\.new-[0-9a-f]+>")
    swapped = position(rf"^rename.*linkage\.sqlite\.new-[0-9a-f]+\".*\"{folder}/linkage\.sqlite\"")
    directory = position(rf"^f(data)?sync\(\d+<{folder}>\)")
    assert staged < swapped < directory
    state_staged = position(rf"^f(data)?sync\(\d+<{sources}/\.state\.json\.[^>]+>")
    state_swapped = position(rf"^rename.*\.state\.json\.[^\"]*\".*\"{sources}/state\.json\"")
    state_directory = [i for i, call in enumerate(calls) if re.search(rf"^f(data)?sync\(\d+<{sources}>\)", call)]
    assert state_staged < state_swapped < max(state_directory, default=-1)


def test_a_torn_state_file_is_reported_and_replaced_and_the_import_goes_ahead(tmp_path):
    db = tmp_path / "linkage.sqlite"
    alpha = feed(tmp_path, "alpha", with_ids("alpha", RECORDS[:4]))
    assert linkage("index", "--sqlite-path", str(db), str(alpha)).returncode == 0
    state_file = tmp_path / "linkage.sqlite.sources" / "state.json"
    whole = state_file.read_text()
    state_file.write_text(whole[: len(whole) // 2])  # torn, as by a crash mid-write

    result = linkage("index", "--sqlite-path", str(db), str(feed(tmp_path, "beta", with_ids("beta", RECORDS[10:12]))))
    assert result.returncode == 0, result.stderr
    assert "state.json" in result.stderr and "unreadable" in result.stderr
    assert SQLiteBackend(db).count() == 6
    state = read_state(tmp_path / "linkage.sqlite.sources")
    assert state["beta"]["last_result"] == "ok" and state["beta"]["loaded"] == 2


def test_a_run_where_every_source_fails_records_each_failure(tmp_path):
    db = tmp_path / "linkage.sqlite"
    alpha = feed(tmp_path, "alpha", with_ids("alpha", RECORDS[:4]))
    beta = feed(tmp_path, "beta", with_ids("beta", RECORDS[10:12]))
    assert linkage("index", "--sqlite-path", str(db), str(alpha), str(beta)).returncode == 0
    sources = tmp_path / "linkage.sqlite.sources"
    before = read_state(sources)
    names = sorted(before)
    assert len(names) == 2 and {before[name]["last_result"] for name in names} == {"ok"}

    alpha.write_bytes(b"\xff\xfe not json")
    beta.write_text("[{\"id\": 1}]")  # nothing valid to load
    result = linkage("index", "--sqlite-path", str(db), str(alpha), str(beta))
    assert result.returncode == 1
    after = read_state(sources)
    for name in names:
        assert after[name]["last_result"].startswith("failed: "), after[name]
        assert after[name]["last_success"] == before[name]["last_success"]
        assert after[name]["last_attempt"] >= before[name]["last_attempt"]
    assert SQLiteBackend(db).count() == 6  # the previous listings keep serving


def test_a_failed_load_is_recorded_as_a_failure(tmp_path):
    db = tmp_path / "linkage.sqlite"
    alpha = feed(tmp_path, "alpha", with_ids("alpha", RECORDS[:4]))
    assert linkage("index", "--sqlite-path", str(db), str(alpha)).returncode == 0
    sources = tmp_path / "linkage.sqlite.sources"
    name = next(iter(read_state(sources)))
    # A directory where the index was: the new file cannot be renamed over it.
    db.unlink()
    db.mkdir()
    result = linkage("index", "--sqlite-path", str(db), str(alpha))
    assert result.returncode == 1
    assert "load failed" in result.stderr
    assert read_state(sources)[name]["last_result"].startswith("failed: ")

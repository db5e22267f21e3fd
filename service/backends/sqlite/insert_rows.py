"""Inserting a load's rows into a staging index file, in a process of its own.

Run by `SQLiteBackend.load` (its `_InserterProcess`) as a script, by path, so that it starts
in a few tens of milliseconds with nothing but the standard library: `python insert_rows.py
STAGING_FILE`. It reads pickles from standard input: first the INSERT statements, one per
table, then batches of rows (a list per table, in the same order), then None; it inserts each
batch as it comes, commits, and writes "ok" on standard output. If anything fails it writes
the error there instead and exits with status 1, reading nothing more.

Why a process: gathering a listing's rows (Python) and inserting them (SQLite, its full-text
index above all) take about as long as each other, and a thread cannot overlap them (the
inserting thread takes the interpreter lock back after every row). A process has its own
interpreter, so the two run on two cores.
"""

import gc
import pickle
import sqlite3
import sys


def staging_connection(target) -> sqlite3.Connection:
    """A connection to a staging index file, which needs no crash safety: a crash leaves the
    old file serving. (The load's own connection is made here too.)"""
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def insert_batch(conn: sqlite3.Connection, statements, rows) -> None:
    """Insert one batch: each table's rows with its statement (the load inserts a small
    load's batches with this too, in its own process)."""
    for statement, table_rows in zip(statements, rows):
        conn.executemany(statement, table_rows)


def main(target: str) -> int:
    """Insert what standard input sends into `target`; 0 when all went in."""
    gc.disable()  # everything it holds is a batch of rows, freed by reference counting
    source = sys.stdin.buffer
    try:
        conn = staging_connection(target)
        statements = pickle.load(source)
        while (rows := pickle.load(source)) is not None:
            insert_batch(conn, statements, rows)
        conn.commit()
        conn.close()
    except Exception as exc:  # noqa: BLE001 - said to the load, which raises it
        sys.stdout.write(f"{type(exc).__name__}: {exc}")
        return 1
    sys.stdout.write("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

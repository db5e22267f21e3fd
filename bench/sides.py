"""Issue 19's measures beside the code they started from, one run: `python -m bench.sides`.

Each part runs this tree and, where it can, the base commit (bench.common.BASE_COMMIT,
exported under bench/out/) taking turns on the same data, and checks that both give the same
answers, index files and PDFs:

- render: whole request vs search alone (bench.render; bodies checked against saved ones);
- sqlite: SQLite search vs its own statements replayed, and the base's search (bench.sqlite_search);
- import: 100k Meeting Guide meetings into SQLite, base vs this tree (bench.import_sides);
- engine: requests per search, API time vs raw replay, load vs raw `_bulk` (bench.engine_sides);
- engine-timed: open now, starts within and soonest on the engine, on a steady evening and in
  a week when clocks change, answers checked against SQLite's (bench.engine_timed);
- pdf: handout PDF first render, cold and warmed process (bench.pdf_render).

Writes the section SIDES_SECTION of bench/RESULTS.md (`--no-write` prints it only);
`--parts render,sqlite` runs some. The engine part uses LINKAGE_SEARCH_URL or starts a node
(bench.engine.Node).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.common import BASE_COMMIT, RESULTS, ROOT, SIDES_SECTION, replace_section

PARTS = ("render", "sqlite", "import", "engine", "engine-timed", "pdf")


def _demoted(markdown: str) -> str:
    """A part's Markdown with its headings one level down, under this section."""
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.splitlines())


def run_part(part: str) -> str:
    """One part's Markdown."""
    if part == "render":
        from bench import render

        text, ok = render.run(["--sizes", "10000,100000"])
        return text if ok else text + "\n**A check failed** (see above).\n"
    if part == "sqlite":
        from bench import sqlite_search

        return sqlite_search.markdown(sqlite_search.measure())
    if part == "import":
        from bench import import_sides

        return import_sides.markdown(import_sides.measure())
    if part == "engine":
        from bench import engine_sides
        from bench.engine import Node

        with Node() as node:
            return engine_sides.engine_sides_markdown(node.url)
    if part == "engine-timed":
        from bench import engine_timed
        from bench.engine import Node

        with Node() as node:
            return engine_timed.markdown(engine_timed.measure(node.url, None))
    if part == "pdf":
        from bench import pdf_render

        return pdf_render.markdown()
    raise ValueError(f"unknown part {part!r}; choose from {', '.join(PARTS)}")


def main(argv: list[str] | None = None) -> int:
    """Run the parts, print the section and write it into bench/RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.sides", description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    from bench.search import git_state

    code = git_state()  # before the run: what was measured, not what changed meanwhile
    started = time.time()
    body = []
    for part in parts:
        print(f"bench.sides: {part}", file=sys.stderr, flush=True)
        body.append(_demoted(run_part(part)))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    text = "\n\n".join([SIDES_SECTION, f"Written by `python -m bench.sides --parts {','.join(parts)}` on {stamp} "
                        f"in {time.time() - started:.0f} s; this code {code}, base commit {BASE_COMMIT}. Each part's figures "
                        "come from one run, its sides taking turns."] + body) + "\n"
    print(text)
    if not args.no_write:
        current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        RESULTS.write_text(replace_section(current, SIDES_SECTION, text), encoding="utf-8")
        print(f"Wrote the section to {RESULTS.relative_to(ROOT)}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

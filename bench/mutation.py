"""Mutation score of the core modules: runs mutmut, then writes the per-module table into
bench/MUTATION.md and every surviving mutant's diff into bench/out/mutation-survivors.md.

    python -m bench.mutation [--jobs N] [--keep] [--report-only] [--recheck TEST_FILE...]

mutmut's settings (the modules, the test selection) are in pyproject.toml's [tool.mutmut].
Only part of service/backends/sqlite/backend.py is scored: the functions that filter and order
(the rest of it writes and reads the index file). A fresh run deletes mutants/ first so
tests changed since the last run judge every mutant again; --keep judges again only the
mutants not yet killed (quick after adding tests, but blind to a test that was removed).
--recheck judges the surviving mutants again with only the given test files (copied into
mutants/ first), one pytest per mutant: a failure there kills the mutant as surely as in a
full run, and it takes seconds where mutmut reruns every test reaching the function.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "MUTATION.md"
SURVIVORS = ROOT / "bench" / "out" / "mutation-survivors.md"
MUTMUT = Path(sys.executable).with_name("mutmut")
BEGIN, END = "<!-- score:begin -->", "<!-- score:end -->"
LIST_BEGIN, LIST_END = "<!-- survivors:begin -->", "<!-- survivors:end -->"

# Module -> mutant-name globs scored in it (mutmut names a method x«Class«name with the
# character U+01C1 between the parts).
SQLITE_SEARCH = ("bounding_box", "fts_expression", "ǁSQLiteBackendǁsearch", "ǁSQLiteBackendǁ_waits",
                 "ǁSQLiteBackendǁ_box_rows", "ǁSQLiteBackendǁ_text_rows")
MODULES = {
    "service/domain/schedule.py": ["service.domain.schedule.*"],
    "service/domain/ordering.py": ["service.domain.ordering.*"],
    "service/domain/geo.py": ["service.domain.geo.*"],
    "service/domain/facets.py": ["service.domain.facets.*"],
    "service/search/reasons.py": ["service.search.reasons.*"],
    "service/search/scoring.py": ["service.search.scoring.*"],
    "service/search/params.py": ["service.search.params.*"],
    "service/backends/sqlite/columns.py": ["service.backends.sqlite.columns.*"],
    "service/backends/engine/queries.py": ["service.backends.engine.queries.*"],
    "service/backends/filters.py": ["service.backends.filters.*"],
    "service/backends/time_of_day.py": ["service.backends.time_of_day.*"],
    "service/backends/words.py": ["service.backends.words.*"],
    "service/render/reasons.py": ["service.render.reasons.*"],
    "service/backends/sqlite/backend.py (search only)": [
        f"service.backends.sqlite.backend.x{'' if name.startswith('ǁ') else '_'}{name}__mutmut_*" for name in SQLITE_SEARCH],
}

# mutmut's exit codes per mutant (mutmut/stats.py), folded into the columns reported.
KILLED = {1, 3}
SURVIVED = {0}
TIMEOUT = {36, 24, -24, 152, 255}
NO_TESTS = {33, 5}


def meta_files() -> dict[str, dict]:
    """mutmut's verdicts: mutant name -> exit code, from every mutants/**/*.meta file."""
    verdicts: dict[str, dict] = {}
    for path in (ROOT / "mutants").rglob("*.py.meta"):
        data = json.loads(path.read_text())
        for name, code in data["exit_code_by_key"].items():
            verdicts[name] = code
    return verdicts


def score(verdicts: dict[str, int | None]) -> list[dict]:
    """One row per module: mutants, killed, survived, timeouts, no tests, unchecked, % killed."""
    rows = []
    for module, globs in MODULES.items():
        codes = [code for name, code in verdicts.items() if any(fnmatch.fnmatchcase(name, g) for g in globs)]
        c = Counter("killed" if code in KILLED else "survived" if code in SURVIVED else
                    "timeout" if code in TIMEOUT else "no tests" if code in NO_TESTS else
                    "unchecked" if code is None else "other" for code in codes)
        total = len(codes)
        # A timeout is a kill (the mutant made a test hang); a mutant no test reaches is not.
        killed = c["killed"] + c["timeout"]
        rows.append({"module": module, "mutants": total, "killed": c["killed"], "survived": c["survived"],
                     "timeouts": c["timeout"], "no tests": c["no tests"], "unchecked": c["unchecked"] + c["other"],
                     "percent": 100.0 * killed / total if total else 0.0})
    return rows


def checked_percent(row) -> float:
    """Killed (timeouts included) as a share of the mutants judged so far."""
    judged = row["mutants"] - row["unchecked"]
    return 100.0 * (row["killed"] + row["timeouts"]) / judged if judged else 0.0


def table(rows: list[dict], seconds: float | None, jobs: int) -> str:
    """The markdown block written between the score markers of MUTATION.md."""
    lines = ["| module | mutants | killed | survived | timeouts | no test reaches | unchecked | % killed | % of checked |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    totals = Counter()
    for r in rows:
        lines.append(f"| {r['module']} | {r['mutants']} | {r['killed']} | {r['survived']} | {r['timeouts']} "
                     f"| {r['no tests']} | {r['unchecked']} | {r['percent']:.1f} | {checked_percent(r):.1f} |")
        totals.update({k: v for k, v in r.items() if isinstance(v, int)})
    pct = 100.0 * (totals["killed"] + totals["timeouts"]) / totals["mutants"] if totals["mutants"] else 0.0
    lines.append(f"| **all** | {totals['mutants']} | {totals['killed']} | {totals['survived']} | {totals['timeouts']} "
                 f"| {totals['no tests']} | {totals['unchecked']} | **{pct:.1f}** | **{checked_percent(totals):.1f}** |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    took = f"{seconds / 60:.0f} min with {jobs} worker process(es) on 2 cores" if seconds else "not timed (--report-only)"
    return "\n".join([f"Run of {when} at commit {commit}: {took}.", "", *lines])


def write_report(block: str, listed: str) -> None:
    """Replace the score and survivor blocks of MUTATION.md (the rest is written by hand)."""
    text = REPORT.read_text() if REPORT.exists() else (
        f"# Mutation testing\n\n{BEGIN}\n{END}\n\n{LIST_BEGIN}\n{LIST_END}\n")
    for begin, end, body in ((BEGIN, END, block), (LIST_BEGIN, LIST_END, listed)):
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: f"{begin}\n{body}\n{end}", text, flags=re.S)
    REPORT.write_text(text)


def survivor_list(verdicts: dict[str, int | None]) -> str:
    """Every mutant not killed, one line each (- original / + mutant), grouped by function."""
    sources: dict[str, str] = {}
    lines = []
    for name in sorted(survivors(verdicts), key=lambda n: (n.rsplit("__mutmut_", 1)[0], int(n.rsplit("_", 1)[1]))):
        changed = [line for line in diff_of(name, sources).splitlines() if line[:1] in "+-"]
        removed = " / ".join(line[1:].strip() for line in changed if line[0] == "-")[:110]
        added = " / ".join(line[1:].strip() for line in changed if line[0] == "+")[:110]
        status = " (no test reaches it)" if verdicts[name] in NO_TESTS else ""
        lines.append(f"- `{name.split('.', 1)[1]}`{status}: `{removed}` → `{added}`")
    return "\n".join(lines) or "None."


def survivors(verdicts: dict[str, int | None]) -> list[str]:
    """Names of the scored mutants that survived or that no test reaches."""
    return sorted(name for name, code in verdicts.items() if code in SURVIVED | NO_TESTS
                  and any(fnmatch.fnmatchcase(name, g) for globs in MODULES.values() for g in globs))


def module_of(name: str) -> str:
    """The dotted module of a mutant name ("service.domain.schedule" of "service.domain.schedule.x_zone__mutmut_1")."""
    return re.match(r"(.*?)\.x[_ǁ]", name).group(1)


def function_text(source: str, name: str) -> list[str]:
    """The lines of one function (or method) `name` in a file mutmut wrote under mutants/."""
    match = re.search(rf"^( *)def {re.escape(name)}\(", source, flags=re.M)
    if not match:
        return []
    indent = match.group(1)
    lines = []
    for line in source[match.start():].splitlines()[0:]:
        if lines and line.strip() and not line.startswith(indent + " ") and not line.startswith(indent + ")"):
            break
        lines.append(line[len(indent):])
    return [line for line in lines if line.strip()][1:]  # without the def line, which names the mutant


def diff_of(name: str, sources: dict[str, str]) -> str:
    """The unified diff between a mutant and the original function (as `mutmut show` prints)."""
    path = ROOT / "mutants" / (module_of(name).replace(".", "/") + ".py")
    if str(path) not in sources:
        sources[str(path)] = path.read_text()
    prefix = name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[1]
    original = function_text(sources[str(path)], f"{prefix}__mutmut_orig")
    mutant = function_text(sources[str(path)], name.rsplit(".", 1)[1])
    return "\n".join(line for line in difflib.unified_diff(original, mutant, lineterm="", n=1)
                     if not line.startswith(("---", "+++")))


def write_survivors(verdicts: dict[str, int | None]) -> int:
    """Every surviving (or unreached) mutant with its diff, for explaining or killing it."""
    names = survivors(verdicts)
    SURVIVORS.parent.mkdir(parents=True, exist_ok=True)
    sources: dict[str, str] = {}
    with SURVIVORS.open("w") as out:
        for name in names:
            status = "no test reaches it" if verdicts[name] in NO_TESTS else "survived"
            out.write(f"## {name} ({status})\n\n```diff\n{diff_of(name, sources)}\n```\n\n")
    return len(names)


def recheck(test_files: list[str], verdicts: dict[str, int | None]) -> int:
    """Judge the survivors again with `test_files` alone; record kills as mutmut does."""
    work = ROOT / "mutants"
    for name in test_files:
        shutil.copy2(ROOT / name, work / name)
    env = dict(os.environ)
    env.setdefault("LINKAGE_REALDATA", str(ROOT.parent / "shared" / "realdata"))
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *test_files]
    env.pop("MUTANT_UNDER_TEST", None)
    clean = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    if clean.returncode:
        print(clean.stdout[-2000:], file=sys.stderr)
        raise SystemExit("the recheck tests fail without any mutant")
    killed = 0
    names = [n for n in survivors(verdicts) if verdicts[n] in SURVIVED | NO_TESTS]
    for name in names:
        result = subprocess.run(command, cwd=work, env={**env, "MUTANT_UNDER_TEST": name},
                                capture_output=True, text=True)
        if result.returncode == 1:
            meta = work / (module_of(name).replace(".", "/") + ".py.meta")
            data = json.loads(meta.read_text())
            data["exit_code_by_key"][name] = 1
            meta.write_text(json.dumps(data, indent=4))
            killed += 1
    print(f"recheck: {killed} of {len(names)} survivors killed by {', '.join(test_files)}")
    return killed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="mutmut worker processes (default 1: the cores are shared)")
    parser.add_argument("--keep", action="store_true", help="keep mutants/ and judge again only the mutants not killed")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report from mutants/")
    parser.add_argument("--recheck", nargs="+", metavar="TEST_FILE",
                        help="judge the survivors again with these test files only, then report")
    args = parser.parse_args(argv)
    seconds = None
    if args.recheck:
        recheck(args.recheck, meta_files())
    elif not args.report_only:
        if not args.keep:
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        env = dict(os.environ)
        # Tests find the real feeds beside the repository; mutmut runs them from mutants/.
        env.setdefault("LINKAGE_REALDATA", str(ROOT.parent / "shared" / "realdata"))
        globs = [g for gs in MODULES.values() for g in gs]
        if args.keep:
            # Killed stays killed when tests are only added; judge the rest again.
            globs = sorted(name for name, code in meta_files().items() if code not in KILLED | TIMEOUT
                           and any(fnmatch.fnmatchcase(name, g) for g in globs))
        started = time.monotonic()
        done = subprocess.run([str(MUTMUT), "run", "--max-children", str(args.jobs), *globs], cwd=ROOT, env=env)
        seconds = time.monotonic() - started
        if done.returncode:
            print(f"mutmut exited {done.returncode}", file=sys.stderr)
            return done.returncode
    verdicts = meta_files()
    write_report(table(score(verdicts), seconds, args.jobs), survivor_list(verdicts))
    count = write_survivors(verdicts)
    print(f"{REPORT.relative_to(ROOT)} updated; {count} surviving mutants in {SURVIVORS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Handout PDF rendering time, this tree against the base commit, side by side in one run.

`python -m bench.pdf_render [--trials 3] [--base COMMIT]` exports the base commit (bench.common.base_tree)
under bench/out/ (once), then for 3-option handouts in English, Arabic, Simplified Chinese
and Hindi runs each tree's renderer in fresh subprocesses, taking turns:

- cold first render: a fresh process renders its first PDF (WeasyPrint loads then);
- warmed first render: a fresh process warms up the way that tree can at app start (this
  tree: `render.handout.warm_pdf_renderer`; the base: one English handout rendered first),
  then renders a handout it has never rendered;
- next: four more handouts, never rendered before, in the same process (median);
- repeat: the first handout again, without the render cache (median of three).

CPU is the process's own (time.process_time) plus its children's (WeasyPrint's library
lookup runs `ldconfig`); wall is time.perf_counter. It then checks that both trees' PDFs of
the same handout have the same pdftotext text, the same embedded fonts and page count, and
says whether their pages rasterise to the same pixels. Prints a Markdown section
(`markdown()` returns it, for `make bench`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

try:
    from bench.common import BASE_COMMIT, base_tree
except ImportError:  # this file run as the base commit's side, whose bench.common predates them
    BASE_COMMIT = base_tree = None

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "pdf-render"
LANGUAGES = ("en", "ar", "zh_Hans", "hi")
OPTIONS = 3
NOW = "2026-11-26T08:00:00+00:00"


# --- In the child process: only names both trees have --------------------------------

def sample_handouts(language: str, count: int, options: int = OPTIONS):
    """`count` handouts of `options` demo listings each (a group in person, one online, a
    phone line or service, in turn), with fixed codes and moment: the same in both trees."""
    import random
    from datetime import datetime, timedelta

    from indexers.load import read_sources
    from service.domain.schemas import dump_listing
    from service.referrals.handout import build_handout
    from service.referrals.model import Referral

    listings = [x for x in read_sources([ROOT / "data" / "demo" / "listings.json"]).listings
                if x.status == "active" and x.sessions]
    pools = [[x for x in listings if x.formats == ("in_person",) and x.kind == "group"],
             [x for x in listings if x.formats == ("online",)],
             [x for x in listings if "phone" in x.formats or x.kind == "service"]]
    now = datetime.fromisoformat(NOW)
    rng = random.Random(f"pdf-render-{language}")
    handouts = []
    for number in range(count):
        picks = [pool[(number * 7 + index * 3) % len(pool)] for index, pool in enumerate(pools)][:options]
        snapshots = [dump_listing(x) for x in picks]
        code = "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(15))
        referral = Referral(code=code, created_at=now, expires_at=now + timedelta(days=90), goal="moderation",
                            language=language, items=tuple(snapshots))
        current = {x.id: (x, s) for x, s in zip(picks, snapshots)}
        handouts.append(build_handout(referral, current, now, "https://linkage.example"))
    return handouts


def _cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _timed(function, *args):
    cpu, wall = _cpu(), time.perf_counter()
    result = function(*args)
    return result, (_cpu() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def child(mode: str, language: str, pdf_path: str) -> dict:
    """One measurement in this process (see the module docstring); the first PDF is written
    to `pdf_path`."""
    from flask import Flask

    from service.i18n import init_i18n
    from service.render import handout as render

    app = Flask("service")
    init_i18n(app)
    with app.app_context():
        handouts = sample_handouts(language, 6)
        result = {}
        if mode == "warmed":
            if hasattr(render, "warm_pdf_renderer"):
                warm = lambda: render.warm_pdf_renderer(app)  # noqa: E731
            else:
                warm = lambda: render.handout_pdf(sample_handouts("en", 1, options=1)[0])  # noqa: E731
            result["warm_up"] = _timed(warm)[1:]
        pdf, cpu, wall = _timed(render.handout_pdf, handouts[0])
        result["first"] = (cpu, wall)
        Path(pdf_path).write_bytes(pdf)
        if mode == "warmed":
            nexts = [_timed(render.handout_pdf, h)[1:] for h in handouts[1:5]]
            repeats = [_timed(render.handout_pdf, handouts[0])[1:] for _ in range(3)]
            result["next"] = tuple(statistics.median(x[i] for x in nexts) for i in (0, 1))
            result["repeat"] = tuple(statistics.median(x[i] for x in repeats) for i in (0, 1))
    return result


# --- In the parent ----------------------------------------------------------------------

def run_child(tree: Path, mode: str, language: str, pdf_path: Path) -> dict:
    """`child` in a fresh interpreter importing `tree`'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", mode, language, str(pdf_path)],
                          cwd=tree, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def pdf_facts(path: Path) -> dict:
    """What must not change: pdftotext's text, the embedded fonts (without the subset tag),
    the page count; and a digest of the pages rasterised at 72 dpi."""
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    fonts_out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    fonts = sorted(re.sub(r"^[A-Z]{6}\+", "", line.split()[0]) for line in fonts_out.splitlines()[2:] if line.strip())
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    raster = subprocess.run(["pdftoppm", "-r", "72", "-gray", str(path)], check=True, capture_output=True).stdout
    return {"text": text, "fonts": fonts, "pages": pages, "pixels": hashlib.sha256(raster).hexdigest()}


def measure(trials: int, base: str = BASE_COMMIT) -> dict:
    """Every language, mode and tree, `trials` times each, the trees taking turns."""
    OUT.mkdir(parents=True, exist_ok=True)
    trees = {"base": base_tree(base), "new": ROOT}
    results: dict = {}
    for language in LANGUAGES:
        for mode in ("cold", "warmed"):
            for trial in range(trials):
                order = ("base", "new") if trial % 2 == 0 else ("new", "base")
                for name in order:
                    pdf_path = OUT / f"{name}-{language}.pdf"
                    found = run_child(trees[name], mode, language, pdf_path)
                    results.setdefault((language, name, mode), []).append(found)
    return results


def _median(runs: list[dict], key: str, index: int) -> float:
    return statistics.median(run[key][index] for run in runs)


def markdown(trials: int = 3, base: str = BASE_COMMIT) -> str:
    """The section: times side by side, then whether the PDFs are the same."""
    results = measure(trials, base)
    lines = ["## Handout PDF, 3 options (python -m bench.pdf_render)", "",
             f"Base {base} vs this tree, fresh processes taking turns, median of {trials}; "
             "CPU ms (wall ms). *Warmed*: after the tree's start-up warm-up.", "",
             "| language | measure | base | new | CPU ratio |", "|---|---|---|---|---|"]
    for language in LANGUAGES:
        for mode, key, label in (("cold", "first", "cold process, first render"),
                                 ("warmed", "warm_up", "warm-up at start"),
                                 ("warmed", "first", "warmed process, first render"),
                                 ("warmed", "next", "next new handouts"),
                                 ("warmed", "repeat", "same handout again (no cache)")):
            base, new = results[(language, "base", mode)], results[(language, "new", mode)]
            cells = [f"{_median(r, key, 0):.0f} ({_median(r, key, 1):.0f})" for r in (base, new)]
            ratio = _median(new, key, 0) / _median(base, key, 0)
            lines.append(f"| {language} | {label} | {cells[0]} | {cells[1]} | {ratio:.2f} |")
    lines += ["", "| language | pdftotext text | fonts | pages | pixels (72 dpi) | bytes, base -> new |",
              "|---|---|---|---|---|---|"]
    for language in LANGUAGES:
        paths = [OUT / f"{name}-{language}.pdf" for name in ("base", "new")]
        old, new = (pdf_facts(path) for path in paths)
        same = {k: "same" if old[k] == new[k] else "DIFFERENT" for k in old}
        sizes = " -> ".join(f"{path.stat().st_size:,}" for path in paths)
        lines.append(f"| {language} | {same['text']} | {same['fonts']} ({len(new['fonts'])}) | "
                     f"{same['pages']} ({new['pages']}) | {same['pixels']} | {sizes} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--base", default=BASE_COMMIT, help="the commit to compare with (default %(default)s)")
    args = parser.parse_args()
    print(markdown(args.trials, args.base))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        # Run by path in the other tree: this folder's modules must not shadow anything.
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
        print(json.dumps(child(*sys.argv[2:5])))
    else:
        main()

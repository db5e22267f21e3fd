"""The warm-up keeps Pango's font choices for handout PDFs (service/render/fontsets.py): a
handout in a language after handouts in all the others makes fontconfig sort no fonts again.

The oracle is fontconfig itself: a small library loaded before it (tests/unit/native,
compiled here with the system's C compiler) reports each call of its font-sort functions,
which Pango makes for every font pattern it has no answer for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SHIM = Path(__file__).parent / "native" / "fontconfig_sorts.c"

# A warmed process (as the server's master warms), then handouts in every other language,
# then one in Simplified Chinese with fontconfig's sorts reported. `keep` off: the warm-up
# keeps nothing (its fontsets are kept by a no-op).
SCRIPT = """
import contextlib, os, sys
from flask import Flask
from service import i18n
from service.i18n import init_i18n
from service.render import fontsets, handout
if sys.argv[1] == "off":
    fontsets.keeping_fontsets = contextlib.nullcontext
app = Flask("service")
init_i18n(app)
with app.app_context():
    handout.warm_pdf_renderer(app)
    for language in (i18n.DEFAULT_LANGUAGE, *i18n.CLIENT_LANGUAGES):
        if language != "zh_Hans":
            handout.handout_pdf(handout._warm_up_handout(language))
    chinese = handout._warm_up_handout("zh_Hans")
    open(os.environ["FONTCONFIG_SORTS_FLAG"], "w").close()
    handout.handout_pdf(chinese)
    os.remove(os.environ["FONTCONFIG_SORTS_FLAG"])
print(fontsets.kept_count())
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not Path("/usr/include/fontconfig/fontconfig.h").is_file():
        pytest.skip("needs a C compiler and fontconfig's header (Debian's gcc and libfontconfig-dev; "
                    "`make install-dev` installs them)")
    built = tmp_path_factory.mktemp("shim") / "fontconfig_sorts.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(built), str(SHIM), "-ldl"], check=True)
    return built


def _sorts(shim: Path, tmp_path: Path, keep: str) -> tuple[int, int]:
    """(fontconfig sorts during the Chinese handout, fontsets the process kept)."""
    flag = tmp_path / f"sorts-{keep}"
    ran = subprocess.run([sys.executable, "-c", SCRIPT, keep], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "LD_PRELOAD": str(shim), "FONTCONFIG_SORTS_FLAG": str(flag)},
                         timeout=600)
    assert ran.returncode == 0, ran.stderr[-2000:]
    return ran.stderr.splitlines().count("sort"), int(ran.stdout.split()[-1])


def test_a_handout_after_every_other_language_sorts_no_fonts(shim, tmp_path):
    sorts, kept = _sorts(shim, tmp_path, "on")
    assert sorts == 0
    # One per font description and language the warm-up laid out (sizes, weights and styles
    # of eleven languages' text).
    assert kept > 100


def test_without_keeping_them_the_same_handout_sorts_again(shim, tmp_path):
    """The control: Pango's own cache alone has let the Chinese handout's choices go."""
    sorts, kept = _sorts(shim, tmp_path, "off")
    assert kept == 0
    assert sorts > 0

"""Sphinx configuration of leaktest's documentation: ``sphinx-build -W -b html docs OUT``."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the leaktest of this checkout, and examples/
sys.path.insert(0, os.path.join(ROOT, "docs", "_ext"))

import leaktest  # noqa: E402

project = "leaktest"
copyright = "leaktest's authors"
release = version = leaktest.__version__
extensions = ["sphinx.ext.doctest", "leaktest_options"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
highlight_language = "python3"

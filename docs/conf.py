"""Sphinx configuration of leaktest's documentation.

Built by .ci/run with warnings as errors: ``sphinx-build -W --keep-going -b html docs OUT``
and ``-b doctest`` (the tools are in docs/requirements.txt; leaktest needs none).
"""

from __future__ import annotations

import doctest
import importlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "docs", "_ext")]  # this checkout's leaktest and examples/

project = "leaktest"
copyright = "leaktest's authors"
release = version = importlib.import_module("leaktest").__version__
extensions = ["sphinx.ext.doctest", "leaktest_options"]
html_theme = "alabaster"
highlight_language = "python3"

# Doctests compare the exception's message too (Sphinx ignores it by default).
doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1

"""Sphinx configuration of the HTML API reference: `make docs` builds it into docs/api/_build/html.

Offline by design: no intersphinx (it would download other projects' inventories) and the
theme that ships with Sphinx. Warnings are errors (make docs runs sphinx-build -W --keep-going).
"""

import sys
from pathlib import Path

# The source tree first, so that the reference documents the code beside it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

project = "hpsearch"
author = "the hpsearch developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
# Docstrings are Google style (Args:, Returns:, Raises:, Attributes:), read by napoleon.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
html_theme = "alabaster"
html_title = "hpsearch API reference"
exclude_patterns = ["_build"]

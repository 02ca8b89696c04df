"""python -m hpsearch.cli, the same as python -m hpsearch and the hpsearch command."""

import sys

from . import main

sys.exit(main())

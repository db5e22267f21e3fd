"""`python -m indexers` is the same as `linkage`."""

import sys

from .cli import main

sys.exit(main())

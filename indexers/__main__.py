"""`python -m indexers` is the same as `linkage`."""

import sys

from indexers.cli import main

sys.exit(main())

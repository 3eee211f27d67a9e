"""``python -m livernn``: the same as the ``livernn`` command."""

import sys

from livernn.cli import main

sys.exit(main())

import sys

from livernn.cli import main

sys.exit(main())

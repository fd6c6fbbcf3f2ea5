import sys

from unrip.cli import main

sys.exit(main())

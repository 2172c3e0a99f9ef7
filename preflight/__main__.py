"""`python -m preflight [--env dev] [--region eu-west-1]`."""

import sys

from preflight.cli import main

sys.exit(main())

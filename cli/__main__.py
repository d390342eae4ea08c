"""`python -m cli ...` runs the `lendflow` command."""

import sys

from cli.app import app

sys.exit(app())

"""Allows ``python -m tray_app``."""

import sys

from tray_app.adapters.cli import main

sys.exit(main())

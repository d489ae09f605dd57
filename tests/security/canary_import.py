"""Importing this module writes the canary file (for routes that import what a config names)."""

import os
from pathlib import Path

Path(os.environ["ALIGNSIM_CANARY"]).write_text("imported\n")
stream = None

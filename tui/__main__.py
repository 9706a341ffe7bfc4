"""``python -m tui`` is the ``minidl-lab`` command."""

import sys

from tui.cli import main

sys.exit(main())

"""``python -m tui`` is the ``minidl-lab`` command."""

import sys

from tui.cli import main

if __name__ == "__main__":  # the training process imports the main module again
    sys.exit(main())

"""``python -m AffineInspectorLib.cli``: the same as the ``affine-inspector`` command."""

import sys

from .main import main

sys.exit(main())

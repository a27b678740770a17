"""``python -m AffineInspectorLib.cli``: the same as the ``affine-inspector`` command."""

import sys

from .entry import main

sys.exit(main())

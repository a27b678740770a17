"""The ``affine-inspector`` executable (and ``python -m AffineInspectorLib.cli``): process settings, then
:func:`.main.main`.

OpenBLAS runs single-threaded unless ``OPENBLAS_NUM_THREADS`` is set: the commands multiply 4x4 matrices and
small arrays, never anything BLAS threads would speed up, and OpenBLAS's idle worker threads cost about 0.1 s
of CPU in every process (a third of a one-file ``inspect``). It must be set before numpy is first imported, so
this module imports nothing else first; a program that imports the library keeps its own settings.
"""

import os
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from .main import main as run

    return run(argv)

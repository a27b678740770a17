"""Loaded by every Python process the fuzz harness starts (its PYTHONPATH): SIGUSR1 prints the stack.

On a timeout the harness sends SIGUSR1 a few times before SIGABRT, so a hang
reports several stack samples and the frame they share (where the loop or
the blocking call is), not only wherever the last signal landed. Does
nothing unless ``AFFINE_FUZZ_SAMPLER=1``.
"""

import os

if os.environ.get("AFFINE_FUZZ_SAMPLER") == "1":
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=False)

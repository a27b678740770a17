"""The peer of the one-file row of the benchmark: a Python process that imports numpy and pydicom and reads one
DICOM header (what a user's own script does first). ``python onefile_peer.py FILE``."""

import sys

import numpy  # noqa: F401  (the peer's script uses it for the geometry)
import pydicom

dataset = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)
print(dataset.ImagePositionPatient, dataset.ImageOrientationPatient, dataset.PixelSpacing)

"""Draw the 128x128 module/extension icon (a sheared voxel grid over its regular grid); run once, PNG committed.

Usage: python Resources/makeIcon.py   (numpy only; writes the two icon files)
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

SIZE = 128
HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = [
    os.path.join(HERE, "Icons", "AffineInspector.png"),
    os.path.join(os.path.dirname(HERE), "AffineInspector", "Resources", "Icons", "AffineInspector.png"),
]


def draw() -> np.ndarray:
    image = np.zeros((SIZE, SIZE, 4), dtype=np.uint8)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    rounded = (np.minimum(x, SIZE - 1 - x) > 6) | (np.minimum(y, SIZE - 1 - y) > 6)
    image[rounded] = (28, 40, 64, 255)
    # Regular grid (grey) and a sheared copy (orange): what a tilted gantry does to slices.
    for step in range(16, SIZE, 24):
        image[(np.abs(x - step) < 1.2) & rounded] = (110, 120, 140, 255)
        image[(np.abs(y - step) < 1.2) & rounded] = (110, 120, 140, 255)
        sheared = x - 0.33 * (SIZE - y)
        image[(np.abs(sheared - step + 24) < 1.6) & rounded & (y > 10) & (y < SIZE - 10)] = (255, 150, 40, 255)
        image[(np.abs(y - step) < 1.6) & rounded & (x > 10) & (x < SIZE - 10) & (step % 48 == 16)] = (255, 150, 40, 255)
    # Magnifier ring.
    radius = np.hypot(x - 84, y - 84)
    image[(radius > 22) & (radius < 28)] = (240, 240, 245, 255)
    handle = (np.abs(x - y) < 5) & (x > 102) & (x < 122)
    image[handle] = (240, 240, 245, 255)
    return image


def writePNG(path: str, image: np.ndarray) -> None:
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
        )


if __name__ == "__main__":
    picture = draw()
    for target in TARGETS:
        writePNG(target, picture)
        print(target)

"""The peer of the multi-frame benchmark: a naive pydicom script reading what the headers use from every frame.

``python naive_frames.py FILE``: dcmread(stop_before_pixels=True), then per frame the per-frame group else the
shared one, for position, orientation, pixel spacing, slice thickness and spacing, temporal position index,
frame type, effective echo time and diffusion b-value and direction: the values affine-inspector reads.
"""

from __future__ import annotations

import sys
from typing import Any, List

import pydicom


def readFrames(path: str) -> List[tuple]:
    dataset = pydicom.dcmread(path, stop_before_pixels=True)
    shared = dataset.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in dataset else None
    rows = []
    for item in dataset.PerFrameFunctionalGroupsSequence:

        def group(keyword: str, item: Any = item) -> Any:
            sequence = item.get(keyword) or (shared.get(keyword) if shared is not None else None)
            return sequence[0] if sequence else None

        plane, orientation, measures = (
            group("PlanePositionSequence"),
            group("PlaneOrientationSequence"),
            group("PixelMeasuresSequence"),
        )
        content = group("FrameContentSequence")
        frameType = group("MRImageFrameTypeSequence") or group("CTImageFrameTypeSequence")
        echo, diffusion = group("MREchoSequence"), group("MRDiffusionSequence")
        direction = diffusion.get("DiffusionGradientDirectionSequence") if diffusion is not None else None
        rows.append(
            (
                [float(value) for value in plane.ImagePositionPatient],
                [float(value) for value in orientation.ImageOrientationPatient],
                [float(value) for value in measures.PixelSpacing],
                measures.get("SliceThickness"),
                measures.get("SpacingBetweenSlices"),
                content.get("TemporalPositionIndex") if content is not None else None,
                frameType.get("FrameType") if frameType is not None else None,
                echo.get("EffectiveEchoTime") if echo is not None else None,
                diffusion.get("DiffusionBValue") if diffusion is not None else None,
                direction[0].get("DiffusionGradientOrientation") if direction else None,
            )
        )
    return rows


if __name__ == "__main__":
    print(len(readFrames(sys.argv[1])), "frames")

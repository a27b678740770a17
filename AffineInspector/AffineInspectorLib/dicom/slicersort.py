"""A port of Slicer's slice sort, which the engine uses everywhere, inside Slicer too.

Source of the rule: 3D Slicer, ``Modules/Scripted/DICOMLib/DICOMUtils.py``,
function ``getSortedImageFiles(filePaths, epsilon=0.01)``. The engine never
calls that function, not even inside Slicer, so that its results are the same
with or without Slicer; this port must therefore give Slicer's order,
distances and warning. ``Testing/test_slicersort.py`` compares it with an
independent re-implementation of the rule, which is:

1. If the first file lacks ImagePositionPatient or ImageOrientationPatient,
   or any file lacks either, return the files unsorted, no distances, and a
   warning.
2. ``scanAxis = cross(IOP[0:3], IOP[3:6])`` of the *first file as given*
   (not normalized), ``scanOrigin`` = its IPP.
3. ``distance = (IPP - scanOrigin) . scanAxis`` for each file; Python's
   stable ``sorted`` by distance, ascending.
4. ``spacing0`` = first gap; the first gap whose difference from ``spacing0``
   exceeds ``epsilon`` (mm, absolute) gives one warning, and the check stops.

Slicer also prefixes "Multi-frame image..." when the first file has a
NumberOfFrames value; the caller says so with ``firstIsMultiFrame``.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, TypeVar

import numpy as np

_Item = TypeVar("_Item")


def sortLikeSlicer(
    items: Sequence[_Item],
    positions: Sequence[Optional[Sequence[float]]],
    orientations: Sequence[Optional[Sequence[float]]],
    *,
    epsilon: float = 0.01,
    firstIsMultiFrame: bool = False,
    regularizationEnabled: bool = True,
    names: Optional[Sequence[str]] = None,
) -> Tuple[List[_Item], List[float], str]:
    """Sort ``items`` as Slicer's ``DICOMUtils.getSortedImageFiles`` does.

    Parameters
    ----------
    items
        What is sorted (file paths, slice records); returned reordered.
    positions, orientations
        ImagePositionPatient (LPS) and ImageOrientationPatient per item, or
        ``None`` where missing.
    epsilon
        Slicer's uniform-spacing tolerance in mm (absolute).
    firstIsMultiFrame
        The first file has a NumberOfFrames value.
    regularizationEnabled
        Slicer's setting ``DICOM/ScalarVolume/AcquisitionGeometryRegularization``
        is not ``none`` (its default); only changes the warning's wording.
    names
        How items are named in the warning (defaults to ``str(item)``).

    Returns
    -------
    sortedItems, distances, warningText
        ``distances[n]`` (mm along the unnormalized scan axis) belongs to
        ``sortedItems[n]``; both empty-distance and unsorted when geometry is
        missing, as in Slicer.
    """
    warningText = ""
    if len(items) == 0:
        return list(items), [], warningText

    def nameOf(index: int) -> str:
        return str(items[index]) if names is None else names[index]

    if firstIsMultiFrame:
        warningText += (
            "Multi-frame image. If slice orientation or spacing is non-uniform then the image "
            "may be displayed incorrectly. Use with caution.\n"
        )
    if positions[0] is None or orientations[0] is None:
        warningText += "Reference image in series does not contain geometry information. Please use caution.\n"
        return list(items), [], warningText

    sliceAxes = np.asarray(orientations[0], dtype=float)
    scanAxis = np.cross(sliceAxes[:3], sliceAxes[3:])
    scanOrigin = np.asarray(positions[0], dtype=float)

    if any(position is None for position in positions) or any(orientation is None for orientation in orientations):
        warningText += "One or more images is missing geometry information in series. Please use caution.\n"
        return list(items), [], warningText
    # One matrix product instead of Slicer's per-file dot; Python's sorted keeps Slicer's stable tie order.
    unsortedDistances = ((np.asarray(positions, dtype=float) - scanOrigin) @ scanAxis).tolist()
    order = sorted(range(len(items)), key=unsortedDistances.__getitem__)
    sortedItems = [items[index] for index in order]
    distances = [unsortedDistances[index] for index in order]

    if len(sortedItems) > 1:
        gaps = np.diff(distances)
        spacing0 = distances[1] - distances[0]
        irregular = np.flatnonzero(np.abs(gaps - spacing0) > epsilon)
        if irregular.size:
            n = int(irregular[0]) + 1
            spacingN = distances[n] - distances[n - 1]
            warningText += (
                f"Image slices are not equally spaced ({spacing0:g} spacing was expected, {spacingN:g} "
                f"spacing was found between files {nameOf(order[n])} and {nameOf(order[n - 1])})."
            )
            if regularizationEnabled:
                warningText += (
                    "  Slicer will apply a transform to this series trying to regularize the volume. "
                    "Please use caution.\n"
                )
            else:
                warningText += (
                    "  If loaded image appears distorted, enable 'Acquisition geometry regularization'"
                    " in Application settings / DICOM / DICOMScalarVolumePlugin. Please use caution.\n"
                )
    return sortedItems, distances, warningText

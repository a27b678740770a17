"""The pure alignment geometry on in-memory grids: one edge case per test, and every axis order and flip."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from AffineInspectorLib.geometry.alignment import Correspondence, StackGrid, matchGrid, numpyRecipe
from AffineInspectorLib.geometry.findings import Kind

IJK_TO_RAS = np.array([[-0.8, 0, 0, 10.0], [0, -0.7, 0, 20.0], [0, 0, 2.5, -30.0], [0, 0, 0, 1]])
DIMENSIONS = (5, 4, 3)


def stack():
    return StackGrid.fromAffine(IJK_TO_RAS, DIMENSIONS)


def test_identical_grid_is_same_grid():
    match = matchGrid(IJK_TO_RAS, DIMENSIONS, stack())
    assert match.relation == Kind.sameGrid and match.maxDeviationMm < 1e-9


def test_rows_stored_bottom_up_is_reindexed():
    flipped = IJK_TO_RAS.copy()
    flipped[:3, 1] *= -1
    flipped[:3, 3] = IJK_TO_RAS[:3, 3] + 3 * IJK_TO_RAS[:3, 1]
    match = matchGrid(flipped, DIMENSIONS, stack())
    assert match.relation == Kind.sameGridReindexed
    assert match.correspondence.reversedIJ == (False, True) and match.correspondence.sliceOrder == "same"


def test_far_away_is_disjoint_and_half_a_voxel_off_is_different():
    far = IJK_TO_RAS.copy()
    far[:3, 3] += 500
    assert matchGrid(far, DIMENSIONS, stack()).relation == Kind.disjoint
    shifted = IJK_TO_RAS.copy()
    shifted[:3, 3] += [0.4, 0, 0]
    assert matchGrid(shifted, DIMENSIONS, stack()).relation == Kind.differentGrid


def test_one_slice_out_of_line_is_same_slices():
    grid = stack()
    positions = grid.positions.copy()
    positions[2] += [0, 1.5, 0]  # a tilted last slice
    tilted = StackGrid(grid.columns, grid.rows, grid.columnStep, grid.rowStep, positions)
    match = matchGrid(IJK_TO_RAS, DIMENSIONS, tilted)
    assert match.relation == Kind.sameSlices and match.maxDeviationMm == pytest.approx(1.5)


@pytest.mark.parametrize("axes", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("flips", list(itertools.product((False, True), repeat=3)))
def test_recipe_and_copy_invert_every_axis_order_and_flip(axes, flips):
    """A file written by placing DICOM voxel (i, j, k) at file index built by hand: recipe and copy undo it."""
    truth = np.arange(np.prod(DIMENSIONS[::-1])).reshape(DIMENSIONS[::-1])  # [k, j, i]
    sizes = [0, 0, 0]
    for dicomAxis, fileAxis in enumerate(axes):
        sizes[fileAxis] = DIMENSIONS[dicomAxis]
    data = np.zeros(sizes, dtype=truth.dtype)
    for k, j, i in itertools.product(*(range(size) for size in DIMENSIONS[::-1])):
        index = [0, 0, 0]
        for dicomAxis, (value, size) in enumerate(zip((i, j, k), DIMENSIONS)):
            index[axes[dicomAxis]] = size - 1 - value if flips[dicomAxis] else value
        data[tuple(index)] = truth[k, j, i]
    slices = tuple(range(DIMENSIONS[2] - 1, -1, -1)) if flips[2] else tuple(range(DIMENSIONS[2]))
    correspondence = Correspondence(axes, (flips[0], flips[1]), slices)
    assert np.array_equal(correspondence.toDICOMOrder(data), truth)
    namespace = {"data": data}
    exec(numpyRecipe(correspondence, ["import numpy"]), namespace)
    assert np.array_equal(namespace["dicom_order"], truth)
    entries = correspondence.axisMap()
    assert [entry.imageAxis for entry in entries] == [0, 1, 2]
    assert {(entry.imageAxis, entry.dicomAxis, entry.reversed) for entry in entries} == {
        (axes[n], "ijk"[n], flips[n]) for n in range(3)
    }


@pytest.mark.parametrize("axes", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("flips", list(itertools.product((False, True), repeat=3)))
def test_match_finds_every_axis_order_and_flip_from_the_header(axes, flips):
    """The header written for a reindexed file (columns permuted and negated, origin at the file's first voxel)."""
    matrix = np.eye(4)
    origin = IJK_TO_RAS[:3, 3].copy()
    for n in range(3):
        column = IJK_TO_RAS[:3, n]
        matrix[:3, axes[n]] = -column if flips[n] else column
        if flips[n]:
            origin = origin + (DIMENSIONS[n] - 1) * column
    matrix[:3, 3] = origin
    shape = [0, 0, 0]
    for n in range(3):
        shape[axes[n]] = DIMENSIONS[n]
    match = matchGrid(matrix, shape, stack())
    identity = axes == (0, 1, 2) and flips == (False, False, False)
    assert match.relation == (Kind.sameGrid if identity else Kind.sameGridReindexed)
    assert match.correspondence.fileAxes == axes
    assert match.correspondence.reversedIJ == flips[:2]
    assert match.correspondence.sliceOrder == ("reversed" if flips[2] else "same")

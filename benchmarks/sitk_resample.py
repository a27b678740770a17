"""The peer of the resample benchmark: resample INPUT onto REF's grid with SimpleITK and write OUT.

``python sitk_resample.py INPUT REF OUT {linear,nearest}``. INPUT may be a DICOM folder (GDCM's series reader).
"""

import os
import sys

import SimpleITK as sitk

source, referencePath, output, mode = sys.argv[1:5]
if os.path.isdir(source):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(source))
    image = reader.Execute()
else:
    image = sitk.ReadImage(source)
reference = sitk.ReadImage(referencePath)
interpolator = sitk.sitkLinear if mode == "linear" else sitk.sitkNearestNeighbor
resampled = sitk.Resample(image, reference, sitk.Transform(), interpolator, 0, image.GetPixelID())
sitk.WriteImage(resampled, output)

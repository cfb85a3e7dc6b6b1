"""Pictures as a player shows them: turned and mirrored as the stream's display matrix says, and
stretched to square pixels by its sample aspect ratio (as `ffmpeg` does by default for the turn,
and with `-vf scale=iw*sar:ih,setsar=1` for the pixels).

Phones code portrait video landscape and tag it rotated; DVD and broadcast SD code 16:9 pictures
in 720x480 with wide pixels. Analysing or storing the coded pictures gives sideways or squashed
images. Frame indices and times do not change: only each picture's shape.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from schemas.records import Display, VideoInfo

FIXED_ONE = 1 << 16  # the display matrix's 16.16 fixed point


def matrix_turn(matrix: Optional[Sequence[int]]) -> Tuple[int, bool]:
    """(rotation, mirrored) of a display matrix (FFmpeg's nine int32, libavutil/display.h),
    snapped to quarter turns.

    The matrix maps a coded pixel (x, y) to (a*x + c*y, b*x + d*y) on screen: a pure turn by
    `rotation` degrees counter-clockwise is (a, b, c, d) = (cos, -sin, sin, cos); a negative
    determinant means the screen's x is mirrored after the turn (av_display_matrix_flip).
    """
    if matrix is None:
        return 0, False
    a, b, c, d = (value / FIXED_ONE for value in (matrix[0], matrix[1], matrix[3], matrix[4]))
    mirrored = bool(a * d - b * c < 0)
    if mirrored:
        a, c = -a, -c
    if a == 0 and c == 0:  # degenerate: nothing to turn by
        return 0, mirrored
    rotation = round(math.degrees(math.atan2(c, a)) / 90) * 90 % 360
    return int(rotation), mirrored


def orient(image: np.ndarray, display: Display) -> np.ndarray:
    """A picture in the coded orientation, turned and mirrored for display (any 2-D or H x W x C
    array, contiguous)."""
    if display.rotation:
        image = np.rot90(image, display.rotation // 90)
    if display.mirrored:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def coded_size(width: int, height: int, display: Display) -> Tuple[int, int]:
    """The (width, height) in the coded orientation that `orient` turns into width x height."""
    return (height, width) if display.quarter_turn else (width, height)


def square_pixels(rgb: np.ndarray, info: VideoInfo) -> np.ndarray:
    """A coded-orientation picture resampled to square pixels (the coded height stays), with
    OpenCV: for decoders that cannot resample as they convert (decord)."""
    width = info.display.square_width(rgb.shape[1])
    if rgb.shape[1] == width:
        return rgb
    shrink = width < rgb.shape[1]
    return cv2.resize(rgb, (width, rgb.shape[0]),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def upright(rgb: np.ndarray, info: VideoInfo) -> np.ndarray:
    """A coded picture as the player shows it: square pixels, turned."""
    return orient(square_pixels(rgb, info), info.display)

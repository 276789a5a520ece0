"""Where an outpainting meets the key visual: the painting corrected to meet it without a seam.

The model paints around the key visual, but its colours at the key visual's edge are its own:
shifted by the VAE round trip (a small VAE moves colours by several CIEDE2000) and by what the
model chose to paint there. Blended over 8 px, that difference stayed a visible straight seam
(the `seams` check measured 1.8 to 18.6 CIEDE2000 beyond the picture's own gradient,
benchmarks/seams.py).

So the painting takes a correction, the difference between the key visual's edge pixels and the
painting's next to them, faded into the painting (the key visual's pixels are not touched):

- its broad part (smoothed along the edge, SMOOTH_PX) fades linearly over FADE_PX: the painting
  takes the key visual's colours at the seam and keeps its own further out;
- its detail fades as a harmonic (Laplace) field, as in Poisson image editing (Pérez, Gangnet
  and Blake, SIGGRAPH 2003): each detail fades within about its own size, so the seam's pixels
  match exactly and no streak is drawn across the painting. The painted areas of an extension
  are rectangles, so the field is solved exactly: a cosine transform along the edge splits the
  difference into modes, and each mode's discrete Laplace solution across the strip is a ratio
  of sinh. (The harmonic field alone, for the broad part too, tinted whole strips with the
  colour of an object cut by the key visual's edge.)
"""

from __future__ import annotations

import numpy as np


def harmonic_fade(difference: np.ndarray, length: int) -> np.ndarray:
    """(length, n, c): the discrete harmonic field over a strip `length` px long and n px wide that
    equals `difference` (n, c) just beyond its last row, is zero just before its first and has no
    flux through its sides (the mirror boundary of the DCT-II)."""
    from scipy.fft import dct, idct

    n = difference.shape[0]
    modes = dct(difference, type=2, norm="ortho", axis=0)
    # each cosine mode k decays across the strip as sinh(mu (x + 1)) / sinh(mu (length + 1)),
    # with cosh(mu) = 1 + lambda_k / 2, lambda_k the mode's eigenvalue of the discrete Laplacian
    mu = np.arccosh(2.0 - np.cos(np.pi * np.arange(n) / n))[None, :]
    x = np.arange(length, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # mode 0 (mu = 0) is the linear ramp, set below
        ratio = np.exp(mu * (x - length)) * np.expm1(-2 * mu * (x + 1)) / np.expm1(-2 * mu * (length + 1))
    ratio[:, 0] = (x[:, 0] + 1) / (length + 1)
    return idct(ratio[:, :, None] * modes[None], type=2, norm="ortho", axis=1)


SMOOTH_PX = 16.0  # sigma along the seam of the difference that fades slowly
FADE_PX = 64  # over how many px that part fades into the painting


def _fade(difference: np.ndarray, length: int) -> np.ndarray:
    """(length, n, c): the difference's detail (finer than SMOOTH_PX along the edge) as a harmonic
    field, which fades within about its own size; its broad part fading linearly over FADE_PX."""
    from scipy.ndimage import gaussian_filter1d

    broad = gaussian_filter1d(difference, SMOOTH_PX, axis=0, mode="nearest")
    reach = min(length, FADE_PX)
    weight = np.clip((np.arange(length) - (length - reach) + 1) / (reach + 1), 0.0, 1.0)
    return harmonic_fade(difference - broad, length) + weight[:, None, None] * broad[None]


def meet_at_inset(painting: np.ndarray, key: np.ndarray, inset: tuple[int, int, int, int]) -> np.ndarray:
    """The painting (H, W, 3 floats) with `key` (the same shape; only its pixels inside `inset` are
    used) put back inside `inset` unchanged, and each painted strip beside it corrected so that it
    meets the key visual's edge without a step."""
    left, top, right, bottom = inset
    height, width = painting.shape[:2]
    out = painting.astype(np.float64, copy=True)
    rows, cols = slice(top, bottom), slice(left, right)
    if left > 0:  # the strip left of the key visual: its far edge is column 0
        out[rows, :left] += _fade(key[rows, left] - painting[rows, left - 1], left).swapaxes(0, 1)
    if right < width:
        strip = _fade(key[rows, right - 1] - painting[rows, right], width - right)
        out[rows, right:] += strip[::-1].swapaxes(0, 1)
    if top > 0:
        out[:top, cols] += _fade(key[top, cols] - painting[top - 1, cols], top)
    if bottom < height:
        out[bottom:, cols] += _fade(key[bottom - 1, cols] - painting[bottom, cols], height - bottom)[::-1]
    out[rows, cols] = key[rows, cols]
    return out

"""The `seams` check: no straight colour step running across the whole picture.

An extension (the key visual outpainted to a banner's aspect, stages/drafts.py `_extend`) meets
the key visual's own pixels along straight lines: full-height ones in a wide banner, full-width
ones in a skyscraper. Where the painting's colour differs from the picture's, a person sees a
seam at once: the eye picks out a long straight edge that no object in the picture explains.

How it is measured, on the render as published, for vertical lines (a step between two
columns) and horizontal ones (between two rows) alike:

- CIELAB of the image, box-reduced by a whole factor to about SEAM_PIXELS pixels (a 728x90
  banner by 2, a 1080x1080 square by 6): a seam is a long feature, and the check stays cheap.
- The line's step: for each row, the mean colour of the `span` px right of the line minus that of
  the `span` px left of it; their median over the rows, component by component (texture steps
  every way and cancels; a shift the whole line shares stays), as CIEDE2000 from the rows'
  median colour. Only rows whose 2 x span px lie outside the text boxes (grown by a third of
  their font size and a CTA plate's outline), drawn scrims, the logo and the product (with its
  contact shadow) count, and a line
  is judged only where at least MIN_FREE of it is free. A median means at least half of the
  line's free length steps that much: an object's edge crossing part of it is not a seam.
- Its excess: the step minus the median step of the lines within NEIGHBOURHOOD px on either
  side (less the nearest, which see the same step). A smooth gradient steps everywhere alike.
- The image's own gradient: the 95th percentile of every pixel's step at the same span (each
  pixel's own CIEDE2000 between its two sides, no median), over the free pixels. A sharp,
  detailed picture has strong steps everywhere, and they hide a line of the same strength.
- value = excess - own gradient, at SPANS 1 and 2 px (a seam blended over a few px still shows
  most of its step there; a soft natural edge spread over many px does not).

Where it fails: only at a composition boundary, a line where the render was assembled (an
extension's inset edges, and the edges of the key visual's kept pixels, as they fall inside the
render: `stages.quality.composition_boundaries`), within BOUNDARY_PX, when value >
SEAM_MAX_DELTA_E = 1.0: a line that steps by a just-noticeable difference (CIEDE2000 1.0, Sharma,
Wu and Dalal 2005) more than the picture's own strongest gradients. In a flat picture that is the
JND itself; in a busy one, the threshold rises with what masks it (as contrast masking raises a
visibility threshold). The strongest line anywhere is measured and recorded on every render, but
never fails it: by pixels, a genuine straight edge (a launch tower, a table's edge, a blob's edge
in a thin strip) is a seam, and benchmarks/seams.py found such edges in 16 of 45 photographs cut
to banners and in 3 of 24 fixed extensions, inside the key visual. A render with no boundary (a
crop of one picture, an image-only plate) records its strongest line and passes. Measured on the
strongest line anywhere (benchmarks/results/seams.md): banners cut from extensions made the old
way, 1.80 to 18.6, at the key visual's edge; every crop of a key visual alone, 0.13 at most.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from asset_pipeline.checks.result import CheckResult
from asset_pipeline.colour import delta_e, lab
from asset_pipeline.typography.boxes import Layout
from asset_pipeline.typography.product import shadow_extent

NAME = "seams"
SEAM_PIXELS = 32_768  # the image is judged box-reduced by a whole factor to about this many pixels
SPANS = (1, 2)  # px each side of a line whose mean colours are compared
NEIGHBOURHOOD = 24  # px either side of a line where the steps of its neighbours are taken
MIN_FREE = 0.25  # a line is judged where at least this share of its length is free of boxes
OWN_GRADIENT_PERCENTILE = 95
GRADIENT_SAMPLES = 2000  # pixels whose steps give the image's own gradient (an even grid of them)
SEAM_MAX_DELTA_E = 1.0  # CIEDE2000 beyond the image's own gradient: the just-noticeable difference
BOUNDARY_PX = 4  # px either side of a composition boundary where its line is looked for (a blend, a resample)

Boundary = tuple[str, int]  # ("x", 268): the vertical line at x = 268 of the render; ("y", 22): a horizontal one


@dataclass(frozen=True)
class SeamMeasure:
    value: float  # the strongest line's step beyond its neighbourhood and the image's own gradient
    where: str  # "vertical line at x = 268" (the image's own px); "" when no line could be judged
    step: float = 0.0  # that line's excess step, CIEDE2000
    own_gradient: float = 0.0  # the image's own gradient at that span, CIEDE2000


def free_mask(size: tuple[int, int], layout: Layout | None) -> np.ndarray:
    """(height, width) bools: the pixels outside what the renderer draws over the picture (text
    boxes and a CTA plate's outline, scrims, the logo, the product and its contact shadow)."""
    width, height = size
    free = np.ones((height, width), dtype=bool)
    if layout is None:
        return free
    scale = height / layout.height  # as the renderer scales a plate outline

    def cut(box: tuple[int, int, int, int], grow: int) -> None:
        left, top, right, bottom = box
        free[max(0, top - grow) : max(0, bottom + grow), max(0, left - grow) : max(0, right + grow)] = False

    for box in layout.boxes:  # the box holds its ink and plate; a third of an em covers a plate's pad besides
        outline = max(1, round((box.plate_outline_px or 2) * scale)) if box.plate_outline else 0
        cut(box.pixel_box(width, height), math.ceil(box.font_px * scale / 3) + outline + 1)
    for panel in layout.panels:
        if panel.kind == "scrim":
            cut(panel.pixel_box(width, height), 1)
    if layout.logo is not None:
        cut(layout.logo.pixel_box(width, height), 1)
    if layout.product is not None:
        box = layout.product.pixel_box(width, height)
        depth, pad = shadow_extent(box[3] - box[1])
        cut(box, depth + pad + 1)
    return free


def _median_over_rows(values: np.ndarray) -> np.ndarray:
    """np.nanmedian over axis 0, by sorting (NaN sorts last): several times faster."""
    ordered = np.sort(values, axis=0)
    count = np.sum(~np.isnan(values), axis=0)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[None], axis=0)[0]
    high = np.take_along_axis(ordered, np.maximum(count // 2, 0)[None], axis=0)[0]
    return (low + high) / 2


def _line_steps(pixels: np.ndarray, free: np.ndarray, span: int) -> tuple[np.ndarray, float]:
    """(per line between columns x-1 and x, x = span .. width-span: its step in CIEDE2000, NaN where
    under MIN_FREE of the rows are free; the image's own gradient across columns at this span)."""
    height, width = free.shape
    xs = np.arange(span, width - span + 1)
    steps = np.full(len(xs), np.nan)
    if xs.size == 0:
        return steps, 0.0
    sums = np.concatenate([np.zeros((height, 1, 3)), np.cumsum(pixels, axis=1)], axis=1)
    blocked = np.concatenate([np.zeros((height, 1)), np.cumsum(~free, axis=1)], axis=1)
    left = (sums[:, xs] - sums[:, xs - span]) / span
    right = (sums[:, xs + span] - sums[:, xs]) / span
    usable = (blocked[:, xs + span] - blocked[:, xs - span]) == 0
    if not usable.any():
        return steps, 0.0
    stride = max(1, math.ceil(math.sqrt(usable.sum() / GRADIENT_SAMPLES)))
    grid = usable[::stride, ::stride]
    own = delta_e(left[::stride, ::stride][grid], right[::stride, ::stride][grid])
    gradient = float(np.percentile(own, OWN_GRADIENT_PERCENTILE)) if own.size else 0.0
    judged = usable.mean(axis=0) >= MIN_FREE
    if judged.any():
        rows = usable[:, judged, None]
        before = np.where(rows, left[:, judged], np.nan)
        colour = _median_over_rows(before)
        shift = _median_over_rows(np.where(rows, right[:, judged], np.nan) - before)
        steps[judged] = delta_e(colour, colour + shift)
    return steps, gradient


def _excess(steps: np.ndarray, span: int) -> np.ndarray:
    """Each line's step above the median step of its neighbourhood (NaN where not judged). The
    neighbourhood: NEIGHBOURHOOD px either side, less the 2 x span nearest."""
    padded = np.pad(steps, NEIGHBOURHOOD, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * NEIGHBOURHOOD + 1).copy()
    windows[:, NEIGHBOURHOOD - 2 * span + 1 : NEIGHBOURHOOD + 2 * span] = np.nan
    return steps - _median_over_rows(windows.T)


def _near(boundaries: Sequence[Boundary], axis: str, count: int, span: int, factor: int) -> np.ndarray:
    """(count,) bools: the lines (index i lies at (i + span) x factor px) within BOUNDARY_PX of a
    boundary on `axis`."""
    near = np.zeros(count, dtype=bool)
    for on, at in boundaries:
        if on == axis:
            low = max(0, math.floor((at - BOUNDARY_PX) / factor) - span)
            near[low : max(0, math.ceil((at + BOUNDARY_PX) / factor) - span + 1)] = True
    return near


def measure_lines(
    image: Image.Image, layout: Layout | None = None, boundaries: Sequence[Boundary] = ()
) -> tuple[SeamMeasure, SeamMeasure]:
    """(the strongest straight line anywhere, the strongest at a composition boundary); a measure
    with `where` "" when no line there could be judged (see the module docstring)."""
    image = image.convert("RGB")
    free = free_mask(image.size, layout)
    factor = max(1, math.ceil(math.sqrt(image.width * image.height / SEAM_PIXELS)))
    if factor > 1:
        image = image.reduce(factor)
        # a reduced pixel is free only when every pixel it averages is (Pillow averages a ragged edge too)
        height, width = image.height, image.width
        pad = ((0, height * factor - free.shape[0]), (0, width * factor - free.shape[1]))
        free = np.pad(free, pad, mode="edge").reshape(height, factor, width, factor).all(axis=(1, 3))
    pixels = lab(np.asarray(image, dtype=np.float64))
    orientations = (("vertical", pixels, free), ("horizontal", pixels.swapaxes(0, 1), free.T))
    anywhere = at_boundary = SeamMeasure(-math.inf, "")
    for name, along, mask in orientations:
        axis = "x" if name == "vertical" else "y"
        for span in SPANS:
            steps, gradient = _line_steps(along, mask, span)
            excess = _excess(steps, span)
            near = _near(boundaries, axis, len(excess), span, factor)
            for which, lines in (("anywhere", excess), ("boundary", np.where(near, excess, np.nan))):
                if np.all(np.isnan(lines)):
                    continue
                index = int(np.nanargmax(lines))
                found = SeamMeasure(
                    float(lines[index]) - gradient,
                    f"{name} line at {axis} = {(index + span) * factor}",
                    float(lines[index]),
                    gradient,
                )
                if which == "anywhere" and found.value > anywhere.value:
                    anywhere = found
                elif which == "boundary" and found.value > at_boundary.value:
                    at_boundary = found
    nothing = SeamMeasure(0.0, "")
    return (anywhere if anywhere.where else nothing), (at_boundary if at_boundary.where else nothing)


def measure_seams(image: Image.Image, layout: Layout | None = None) -> SeamMeasure:
    """The strongest straight line of the image, wherever it lies."""
    return measure_lines(image, layout)[0]


def _figures(found: SeamMeasure) -> str:
    return (
        f"{found.where}, steps CIEDE2000 {found.step:.2f} beyond its neighbours, "
        f"{found.value:.2f} beyond the image's own gradient ({found.own_gradient:.2f})"
    )


def check_seams(
    image: Image.Image,
    layout: Layout | None = None,
    boundaries: Sequence[Boundary] = (),
    max_delta_e: float = SEAM_MAX_DELTA_E,
) -> CheckResult:
    """Fails a render whose line at a composition boundary (`boundaries`: where the render was
    assembled, e.g. an extension's painting meets the key visual) steps more than `max_delta_e`
    (CIEDE2000) beyond its neighbourhood and the image's own gradient, outside the layout's boxes.
    The strongest line anywhere is recorded in the detail but never fails: away from a boundary a
    straight line is the picture's own (a table's edge, a tower)."""
    anywhere, at = measure_lines(image, layout, boundaries)
    if not anywhere.where:
        return CheckResult(NAME, True, 0.0, "no line free enough of text, logo and product to judge")
    strongest = f"strongest straight line: {_figures(anywhere)}"
    if not boundaries:
        detail = f"no composition boundary (one picture, cropped): {strongest}; recorded, not judged"
        return CheckResult(NAME, True, round(anywhere.value, 3), detail)
    lines = ", ".join(f"{axis} = {at}" for axis, at in boundaries)
    if not at.where:
        detail = f"composition boundaries ({lines}) under text, logo or product: not judged; {strongest}"
        return CheckResult(NAME, True, round(anywhere.value, 3), detail)
    if at.value > max_delta_e:
        detail = f"seam: {_figures(at)} > {max_delta_e:.1f}, at a composition boundary ({lines}): where the render was assembled"
        return CheckResult(NAME, False, round(at.value, 3), detail)
    detail = f"at the composition boundaries ({lines}): {_figures(at)} <= {max_delta_e:.1f}"
    if anywhere.where != at.where:
        detail += f"; {strongest} (the picture's own: not a boundary)"
    return CheckResult(NAME, True, round(at.value, 3), detail)

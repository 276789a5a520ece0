"""Design lint: the layout's design figures as numbers, failing only on what the brand makes a rule.

Read from the same Layout data the renderer draws (and the glyph positions shaped the same
way, `typography.layout.text_block`), one `design_lint` result per figure:

- alignment: the spread, in px, of the ink edges (left edges in left-aligned blocks, centres
  in centred ones) of every line of every block; recorded.
- hierarchy: headline / body, CTA / body and disclaimer / body font sizes; recorded.
- margins: the smallest distance of any ink to the image's edge, against safe_margin (a rule).
- overlaps: px² shared by text boxes with each other and with the logo (a rule: none), and
  by text or logo with the product zone (recorded).
- clear space: the closest text box or plate to the logo, against logo_clear_space (a rule).
- plate contrast: the CTA plate (or its outline) against its surroundings, WCAG 1.4.11's
  3:1, with the treatment chosen; recorded.
- safe zones: px² of every text box (a CTA with its plate) and the logo inside the size
  preset's keep-out zones (a story's interface bands, a reel's sides), per box and zone (a
  rule: none). Measured from the brief's zones, not from the area the layout was given, so a
  layout made without them is caught.
- text cover: the share of the image text boxes (a CTA with its plate) and the logo cover,
  against the preset channel's limit where it has one (Google's responsive display ads: 20%;
  a rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from asset_pipeline.checks.result import CheckResult
from asset_pipeline.presets import Zone, keep_out_boxes
from asset_pipeline.specs import Brand
from asset_pipeline.typography.boxes import Layout, TextBox, to_pixels
from asset_pipeline.typography.layout import ink_bounds, text_block

NAME = "design_lint"
Box = tuple[int, int, int, int]


def line_edges(box: TextBox, width: int, height: int) -> list[float]:
    """Each line's alignment edge in px at the layout's size: ink left (left-aligned), ink right
    (right-aligned, a mirrored template) or ink centre."""
    left, top, right, bottom = box.pixel_box(width, height)
    block = text_block(box.lines, box.font, box.font_px, box.line_spacing, box.align, **box.shaping())
    x0 = left + (right - left - block.width) // 2  # where the renderer puts the block
    edges = []
    for line, (dx, _dy) in zip(box.lines, block.origins):
        ink_left, _, ink_right, _ = ink_bounds(box.font, box.font_px, line, box.direction, box.language)
        edge = {"left": ink_left, "right": ink_right}.get(box.align, (ink_left + ink_right) / 2)
        edges.append(x0 + dx + edge)
    return edges


def alignment_spread(layout: Layout) -> float:
    """The largest spread of line alignment edges within any block, px."""
    blocks: dict[int, list[TextBox]] = {}
    for box in layout.boxes:
        blocks.setdefault(box.block if box.block is not None else id(box), []).append(box)
    spread = 0.0
    for boxes in blocks.values():
        edges = [e for box in boxes for e in line_edges(box, layout.width, layout.height)]
        if len(edges) > 1:
            spread = max(spread, max(edges) - min(edges))
    return spread


def _overlap(a: Box, b: Box) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _gap(a: Box, b: Box) -> float:
    """Distance between two rectangles (0 when they touch or overlap)."""
    dx = max(0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[3], b[3]))
    return math.hypot(dx, dy)


def keep_out_overlaps(layout: Layout, keep_out: Iterable[Zone | Mapping]) -> list[tuple[str, str, int]]:
    """(box, zone reason, px²) for every text box (with its plate) or logo that enters a keep-out zone."""
    width, height = layout.width, layout.height
    zones = list(keep_out)
    boxes = layout.covered()
    found = []
    for zone, rect in zip(zones, keep_out_boxes({"keep_out": zones}, width, height)):
        reason = zone.reason if isinstance(zone, Zone) else zone["reason"]
        found += [(role, reason, area) for role, box in boxes if (area := _overlap(box, rect))]
    return found


def design_lint(
    layout: Layout, brand: Brand, keep_out: Iterable[Zone | Mapping] = (), max_text_cover: float | None = None
) -> list[CheckResult]:
    """The design figures of one layout (see the module docstring), one CheckResult each.

    `keep_out`: the deliverable's safe zones (its `briefs` row's `keep_out`); none, no zone result.
    `max_text_cover`: the share of the image its channel lets text and logo cover; None, no limit
    and no text cover result."""
    width, height = layout.width, layout.height
    results = []
    if not layout.boxes and layout.logo is None:
        return [CheckResult(NAME, True, None, "nothing to lint: no text and no logo")]

    spread = alignment_spread(layout)
    results.append(
        CheckResult(NAME, True, round(spread, 2), f"alignment: ink edges within a block spread {spread:.1f} px")
    )

    sizes = {box.role: box.font_px for box in layout.boxes}
    body = sizes.get("body")
    if body:
        ratios = {role: sizes[role] / body for role in ("headline", "cta", "disclaimer") if role in sizes}
        shown = ", ".join(f"{role}/body {ratio:.2f}" for role, ratio in ratios.items())
        results.append(
            CheckResult(NAME, True, round(ratios.get("headline", 1.0), 3), f"hierarchy: {shown} ({layout.family})")
        )

    margin = brand.safe_margin * min(width, height)
    if layout.boxes:
        distances = {}
        for box in layout.boxes:
            left, top, right, bottom = box.ink_box(width, height)
            distances[box.role] = min(left, top, width - right, height - bottom)
        role = min(distances, key=distances.get)
        passed = distances[role] >= margin - 1
        results.append(
            CheckResult(
                NAME,
                passed,
                float(distances[role]),
                f"margins: closest ink ({role}) {distances[role]} px from an edge "
                f"{'>=' if passed else '<'} safe margin {margin:.0f} px",
            )
        )

    text = [(role, box) for role, box in layout.covered() if role != "logo"]
    logo = layout.logo.pixel_box(width, height) if layout.logo else None
    zone = to_pixels(layout.product_zone, width, height) if layout.product_zone else None
    text_text = sum(_overlap(a, b) for i, (_, a) in enumerate(text) for _, b in text[i + 1 :])
    text_logo = sum(_overlap(box, logo) for _, box in text) if logo else 0
    into_zone = (
        sum(_overlap(box, zone) for _, box in text) + (_overlap(logo, zone) if logo and zone else 0) if zone else 0
    )
    passed = text_text == 0 and text_logo == 0
    results.append(
        CheckResult(
            NAME,
            passed,
            float(text_text + text_logo),
            f"overlaps: text/text {text_text} px², text/logo {text_logo} px², "
            f"text and logo in the product zone {into_zone} px²",
        )
    )

    if layout.logo is not None:
        clear = layout.logo.clear_box(width, height)
        required = brand.logo_clear_space * (logo[3] - logo[1])
        intruders = [role for role, box in text if _overlap(box, clear)]
        nearest = min((_gap(box, logo) for _, box in text), default=math.inf)
        passed = not intruders
        results.append(
            CheckResult(
                NAME,
                passed,
                None if nearest == math.inf else round(nearest, 1),
                f"clear space: nearest text {'none' if nearest == math.inf else f'{nearest:.0f} px'} from the logo, "
                f"{required:.0f} px required" + (f"; {', '.join(intruders)} inside it" if intruders else ""),
            )
        )

    zones = list(keep_out)
    if zones:
        hits = keep_out_overlaps(layout, zones)
        total = sum(area for _, _, area in hits)
        results.append(
            CheckResult(
                NAME,
                not hits,
                float(total),
                "safe zones: "
                + (
                    "; ".join(f"{role} overlaps {reason} by {area} px²" for role, reason, area in hits)
                    if hits
                    else f"text, CTA and logo clear of {len(zones)} keep-out zone(s)"
                ),
            )
        )

    if max_text_cover is not None:
        cover = layout.text_cover()
        passed = cover <= max_text_cover
        results.append(
            CheckResult(
                NAME,
                passed,
                round(cover, 4),
                f"text cover: text and logo cover {cover:.1%} of the image "
                f"{'<=' if passed else '>'} the channel's {max_text_cover:.0%}",
            )
        )

    cta = layout.box("cta")
    if cta is not None and cta.plate:
        results.append(
            CheckResult(
                NAME,
                True,
                cta.plate_contrast,
                f"plate contrast: CTA plate ({cta.plate_treatment or 'accent'}) "
                + (f"{cta.plate_contrast:.2f}:1" if cta.plate_contrast is not None else "not measured")
                + " against its surroundings (WCAG 1.4.11 asks 3:1)",
            )
        )
    return results

"""Measures of an embedded-model background against its prompt: colour, pattern, diversity.

- Colour adherence: the image's dominant colours (Pillow median-cut to 6 colours on a
  64 px thumbnail; a colour is dominant when it covers at least 15% of the pixels) must
  each lie within CIEDE2000 ΔE 20 of one of the prompt's named colours (scikit-image's
  `deltaE_ciede2000`). Coverage, reported beside it: every named colour has a quantised
  colour (5%+ of the pixels) within ΔE 20.
- Pattern adherence: a nearest-centroid classifier over spectral features (the grey
  image's Fourier power in radial x angular bins, plus contrast and edge density),
  fitted on corpus renders of every pattern. Its accuracy on held-out corpus renders is
  the ceiling to read the model's figure against.
- Diversity: mean CIEDE2000 ΔE between the same prompt's images for different seeds,
  pixel by pixel on 64 px thumbnails.
- VAE ceiling: the colour adherence of corpus images after a VAE round trip alone; no UNet
  can beat it, so it says whether the VAE or the UNet limits colour.
"""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image

from asset_pipeline.colour import delta_e, hex_to_rgb, lab
from asset_pipeline.models.embedded import COLOURS
from asset_pipeline.models.grading import dominant_colours

DELTA_E = 20.0
DOMINANT_SHARE = 0.15
PRESENT_SHARE = 0.05


def palette(image: Image.Image, colours: int = 6) -> list[tuple[np.ndarray, float]]:
    """[(Lab colour, share of pixels)], largest first."""
    labs, shares = dominant_colours(image, colours, thumbnail=64)
    return sorted(((centre, float(share)) for centre, share in zip(labs, shares)), key=lambda x: -x[1])


def colour_check(image: Image.Image, names_or_hex: list[str]) -> dict:
    """{'adherent': bool, 'covered': bool, 'worst_delta_e': float} for the named colours."""
    targets = lab([hex_to_rgb(COLOURS.get(c, c)) for c in names_or_hex])
    found = palette(image)
    worst, covered = 0.0, True
    for centre, share in found:
        if share >= DOMINANT_SHARE:
            worst = max(worst, float(delta_e(np.repeat(centre[None], len(targets), 0), targets).min()))
    for target in targets:
        near = [share for centre, share in found if share >= PRESENT_SHARE and delta_e(centre, target) <= DELTA_E]
        covered &= bool(near)
    return {"adherent": worst <= DELTA_E, "covered": covered, "worst_delta_e": round(worst, 1)}


def features(image: Image.Image) -> np.ndarray:
    grey = np.asarray(image.convert("L").resize((128, 128), Image.BILINEAR), dtype=np.float64) / 255.0
    centred = grey - grey.mean()
    power = np.abs(np.fft.fftshift(np.fft.fft2(centred))) ** 2
    y, x = np.mgrid[-64:64, -64:64]
    radius = np.hypot(x, y)
    angle = np.mod(np.arctan2(y, x), np.pi)
    r_edges = [1, 3, 6, 12, 24, 48, 91]
    feats = []
    total = power[radius >= 1].sum() + 1e-9
    for lo, hi in zip(r_edges, r_edges[1:]):
        ring = (radius >= lo) & (radius < hi)
        for a in range(4):
            sector = ring & (angle >= a * np.pi / 4) & (angle < (a + 1) * np.pi / 4)
            feats.append(np.log(power[sector].sum() / total + 1e-6))
    gy, gx = np.gradient(grey)
    edges = np.hypot(gx, gy)
    feats += [grey.std(), edges.mean() * 10, (edges > 0.05).mean(), np.abs(grey - grey.mean()).max()]
    return np.array(feats)


class PatternClassifier:
    """Nearest centroid over standardised `features`, fitted on corpus renders."""

    def __init__(self, per_pattern: int = 24, size: int = 256, seed: int = 50_000):
        from training.corpus import PATTERNS, SINGLE_COLOUR, draw_colours, render

        rng = np.random.default_rng(seed)
        rows, labels = [], []
        for pattern in PATTERNS:
            for _ in range(per_pattern):
                colours = draw_colours(rng, 1 if pattern in SINGLE_COLOUR else 2)
                pixels, _ = render(pattern, colours, size, rng)
                rows.append(features(Image.fromarray((pixels * 255 + 0.5).astype(np.uint8))))
                labels.append(pattern)
        matrix = np.array(rows)
        self.mean, self.std = matrix.mean(0), matrix.std(0) + 1e-9
        z = (matrix - self.mean) / self.std
        self.patterns = list(PATTERNS)
        self.centroids = np.array([z[[label == p for label in labels]].mean(0) for p in self.patterns])

    def predict(self, image: Image.Image) -> str:
        z = (features(image) - self.mean) / self.std
        return self.patterns[int(np.argmin(((self.centroids - z) ** 2).sum(1)))]


def diversity(images: list[Image.Image]) -> float:
    """Mean pixelwise CIEDE2000 between every pair of images (64 px thumbnails)."""
    labs = [lab(np.asarray(im.convert("RGB").resize((64, 64), Image.BILINEAR))) for im in images]
    pairs = [float(delta_e(a, b).mean()) for a, b in itertools.combinations(labs, 2)]
    return float(np.mean(pairs)) if pairs else 0.0


def vae_round_trip(vae, count: int = 30, size: int = 512, first_seed: int = 777_000) -> dict:
    """Colour adherence of `count` training-corpus images before and after `vae` encodes and decodes them."""
    import torch

    from training.corpus import sample

    before = after = 0
    errors = []
    for index in range(count):
        item = sample(first_seed + index, size)
        pixels = torch.from_numpy(item.image).permute(2, 0, 1)[None].float() / 127.5 - 1
        with torch.no_grad():
            decoded = vae.decode(vae.encode(pixels.to(vae.dtype)).latent_dist.mode()).sample.float()
        back = ((decoded[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
        before += colour_check(Image.fromarray(item.image), item.colours)["adherent"]
        after += colour_check(Image.fromarray(back), item.colours)["adherent"]
        errors.append(float(delta_e(lab(item.image), lab(back)).mean()))
    return {
        "images": count,
        "adherent_before": before / count,
        "adherent_after": after / count,
        "mean_pixel_delta_e": float(np.mean(errors)),
    }

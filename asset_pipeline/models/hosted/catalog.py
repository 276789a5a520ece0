"""What each hosted model offers: the sizes it draws, how a request names them, and whether it
takes a seed, a negative prompt or a reference image. Plain data, no SDK imports.

A registry entry's `path` is the provider's own model name (`dall-e-3`, `V_2_TURBO`,
`gemini-2.5-flash-image`); these tables are keyed by it. The key visual's canvas goes to the
offered size nearest its aspect (`nearest_size`), and the framing crops it like any key visual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PROVIDERS = ("openai", "ideogram", "google")
DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "ideogram": "IDEOGRAM_API_KEY", "google": "GEMINI_API_KEY"}


@dataclass(frozen=True)
class Offer:
    """What one provider model accepts."""

    sizes: dict[tuple[int, int], str]  # (width, height) it draws -> how the request names that size
    seed: bool  # takes a seed (else the seed only tells variants and re-rolls apart)
    negative: bool  # takes a negative prompt (else it is added to the prompt as "Avoid: ...")
    references: bool  # takes a reference image (image-to-image)
    qualities: tuple[str, ...] = ()  # the `quality` values it takes; the first is the default
    retired: str | None = None  # the date its provider retired it, where it did
    note: str = ""
    extra: dict = field(default_factory=dict)


# OpenAI's Images API names sizes as "WxH".
_DALLE3 = {(1024, 1024): "1024x1024", (1792, 1024): "1792x1024", (1024, 1792): "1024x1792"}
_GPT_IMAGE = {(1024, 1024): "1024x1024", (1536, 1024): "1536x1024", (1024, 1536): "1024x1536"}

# Ideogram: one resolution per aspect ratio (its documented resolutions list), named by the
# aspect ratio enum of the generate API ("ASPECT_16_9"); Ideogram 3.0 writes the same ratios "16x9".
_IDEOGRAM_ASPECTS = {
    (1024, 1024): (1, 1),
    (1312, 736): (16, 9),
    (736, 1312): (9, 16),
    (1280, 800): (16, 10),
    (800, 1280): (10, 16),
    (1152, 864): (4, 3),
    (864, 1152): (3, 4),
    (1248, 832): (3, 2),
    (832, 1248): (2, 3),
    (1536, 512): (3, 1),
    (512, 1536): (1, 3),
}
_IDEOGRAM_V2 = {size: f"ASPECT_{w}_{h}" for size, (w, h) in _IDEOGRAM_ASPECTS.items()}
_IDEOGRAM_V3 = {size: f"{w}x{h}" for size, (w, h) in _IDEOGRAM_ASPECTS.items()}

# Gemini's image models: the aspect ratios of `imageConfig.aspectRatio` at their 1K sizes.
_GEMINI_IMAGE = {
    (1024, 1024): "1:1",
    (832, 1248): "2:3",
    (1248, 832): "3:2",
    (864, 1184): "3:4",
    (1184, 864): "4:3",
    (896, 1152): "4:5",
    (1152, 896): "5:4",
    (768, 1344): "9:16",
    (1344, 768): "16:9",
    (1536, 672): "21:9",
}
# Imagen 4 on the Gemini API (`aspectRatio` of :predict).
_IMAGEN = {(1024, 1024): "1:1", (896, 1280): "3:4", (1280, 896): "4:3", (768, 1408): "9:16", (1408, 768): "16:9"}
_IMAGEN_RETIRED = (
    "Google shut Imagen 4 down on the Gemini API on 2026-08-17 and google-genai no longer calls it there; "
    "gemini-2.5-flash-image is Google's replacement"
)

OFFERS: dict[tuple[str, str], Offer] = {
    ("openai", "dall-e-3"): Offer(
        _DALLE3,
        seed=False,
        negative=False,
        references=False,
        qualities=("standard", "hd"),
        retired="2026-05-12",
        note="OpenAI retired dall-e-3 on 2026-05-12; a proxy or Azure deployment (base_url) may still serve it",
    ),
    ("openai", "gpt-image-1"): Offer(
        _GPT_IMAGE, seed=False, negative=False, references=True, qualities=("medium", "low", "high")
    ),
    ("openai", "gpt-image-1-mini"): Offer(
        _GPT_IMAGE, seed=False, negative=False, references=True, qualities=("medium", "low", "high")
    ),
    **{
        ("ideogram", model): Offer(_IDEOGRAM_V2, seed=True, negative=model in ("V_2", "V_2_TURBO"), references=True)
        for model in ("V_2", "V_2_TURBO", "V_2A", "V_2A_TURBO")
    },
    ("ideogram", "V_3"): Offer(
        _IDEOGRAM_V3, seed=True, negative=True, references=True, qualities=("default", "turbo", "quality")
    ),
    ("google", "gemini-2.5-flash-image"): Offer(_GEMINI_IMAGE, seed=True, negative=False, references=True),
    **{
        ("google", model): Offer(
            _IMAGEN, seed=False, negative=False, references=False, retired="2026-08-17", note=_IMAGEN_RETIRED
        )
        for model in ("imagen-4.0-generate-001", "imagen-4.0-fast-generate-001", "imagen-4.0-ultra-generate-001")
    },
}


class UnknownHostedModel(ValueError):
    """A provider model these tables do not describe."""


def offer(provider: str, model: str) -> Offer:
    try:
        return OFFERS[(provider, model)]
    except KeyError:
        known = ", ".join(sorted(m for p, m in OFFERS if p == provider))
        raise UnknownHostedModel(f"{provider} has no model {model!r} here; known: {known}") from None


def nearest_size(provider: str, model: str, width: int, height: int) -> tuple[int, int]:
    """The offered size whose aspect is nearest width/height (on a log scale, so 2:1 and 1:2 are
    as far from 1:1); ties go to the larger area."""
    if width <= 0 or height <= 0:
        raise ValueError(f"size must be positive, got {width}x{height}")
    wanted = math.log(width / height)
    return min(offer(provider, model).sizes, key=lambda s: (abs(math.log(s[0] / s[1]) - wanted), -s[0] * s[1]))


def with_negative(prompt: str, negative: str | None, takes_negative: bool) -> tuple[str, str | None]:
    """(prompt, negative) as the provider is sent them: a model without a negative prompt gets
    what to avoid at the end of its prompt, so the brand's `negative` still reaches it."""
    if not negative or takes_negative:
        return prompt, negative or None
    return f"{prompt}. Avoid: {negative}", None

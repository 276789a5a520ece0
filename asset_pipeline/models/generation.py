"""Draft generation with diffusers: load a registry model, make images, fall back when it fails.

Loaded pipelines are kept per process (loading is the slow part), at most `MAX_LOADED`, the
least recently used dropped first: one by default (holding two real checkpoints would not fit
many GPUs); the HTTP API's long-lived server raises it (`set_max_loaded`) so real-time renders
routed to a few models keep them all warm. Seeds go through CPU `torch.Generator`s, one per
image, so the same (model, prompt, negative, seed, size) gives the same pixels on CPU in
any process. On CPU each image is its own pipeline call: batching changes float rounding,
so an image's bytes would depend on which other images shared its batch (and batching
buys nothing on CPU anyway). On CUDA the batch runs as one call, in the spec's dtype.

"Same pixels" holds for the same machine and torch thread count: oneDNN convolutions
split their sums by thread, so 1 and 2 threads can differ by one level in a few pixels.
Turning oneDNN off removes that but makes CPU generation about 4x slower, so it stays on.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from asset_pipeline.framing import Extension
from asset_pipeline.models.blending import meet_at_inset
from asset_pipeline.models.registry import ModelSpec, Registry, resolve_weights
from asset_pipeline.storage.disk import is_disk_full

# torch is imported where a model runs, not here: a nothing-changed rebuild never needs it,
# and importing it costs about 2 s of every `asset-pipeline run`.
if TYPE_CHECKING:
    import torch

BLACK_LEVEL = 2 / 255  # brightest pixel below this: a black image (the fp16 VAE failure mode)
# Drafts are generated EDGE_OVERSCAN_PX larger on every side (rounded up to the model's
# `multiple`) and the overscan cropped off. Every convolution of the UNet and the VAE decoder
# zero-pads its input at the canvas border, so the outer pixels of a generated image see black
# beyond the edge: on the embedded model a tinted frame whose outermost 1 px ring was 6.05
# CIEDE2000 (median; 12 at most) from the inner band, fading over 2-5 px. A crop to the
# deliverable's aspect trims one axis only, so the frame reached the renders. With 16 px of
# overscan the ring is 1.49 (median) and the 8 px band 1.23 (was 2.30). Replicating edge pixels
# instead of zero padding removed more of it, but shifted every colour: the decoder's GroupNorm
# statistics see the border, and the VAE round trip went from 12.5 to 15.3 mean CIEDE2000 in
# the picture's interior. So the networks run as trained and the edge moves outside the picture
# (about 13% more pixels at 512 px). benchmarks/edge_frame.py measures all three. Part of every
# draft's cache key.
EDGE_OVERSCAN_PX = 16
# Inpainting feathers a hard mask edge over this many px, so no seam shows.
SEAM_PX = 8
# Outpainting paints up to this many px inside the key visual's edge too, and keeps that painting
# (`kept_inset`): the embedded model's pictures fade to a lighter or darker border over their outer
# px (up to 9 CIEDE2000 from 32 px inward, measured on benchmarks/seams.py's key visuals), which
# kept as it was showed as a frame round the key visual inside its extension.
OUTPAINT_BAND_PX = 32


class GenerationError(RuntimeError):
    """A model produced no usable image (NaN or black output, or it failed while running)."""


@dataclass
class _Loaded:
    key: tuple
    pipe: Any
    derived: dict[str, Any] = field(default_factory=dict)  # inpainting / image-to-image views (from_pipe)


# Module-level so every DraftGenerator in the process shares the loaded pipelines, most recently used last.
_LOADED: OrderedDict[tuple, _Loaded] = OrderedDict()
MAX_LOADED = 1
PIPELINE_LOCK = threading.RLock()  # one load or generation at a time: a pipeline is not thread-safe
LOAD_COUNT = 0  # pipelines loaded by this process (tests check that repeated calls reuse one)


def device_and_dtype(spec: ModelSpec) -> tuple[str, torch.dtype]:
    """CUDA in the spec's dtype when there is a GPU; CPU always float32 (half precision is slow there)."""
    import torch

    if torch.cuda.is_available():
        return "cuda", getattr(torch, spec.dtype)
    return "cpu", torch.float32


def _pipeline_class(name: str):
    import diffusers

    if name == "auto":
        return diffusers.DiffusionPipeline
    cls = getattr(diffusers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, diffusers.DiffusionPipeline)):
        raise ValueError(f"{name!r} is not a diffusers pipeline class")
    return cls


def set_max_loaded(count: int) -> None:
    """Keep at most `count` pipelines loaded (least recently used dropped first)."""
    global MAX_LOADED
    if count < 1:
        raise ValueError(f"at least one model stays loaded, not {count}")
    with PIPELINE_LOCK:
        MAX_LOADED = count
        _drop_beyond(count)


def _drop_beyond(count: int) -> None:
    if len(_LOADED) <= count:
        return
    while len(_LOADED) > count:
        _LOADED.popitem(last=False)
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _unload() -> None:
    """Drop every loaded pipeline."""
    with PIPELINE_LOCK:
        _drop_beyond(0)


def _without_torchvision_notice(record: logging.LogRecord) -> bool:
    return "requires torchvision (not installed)" not in record.getMessage()


def _load(spec: ModelSpec, path: Path) -> _Loaded:
    """The pipeline for `spec`, reusing a loaded one when nothing about it changed."""
    global LOAD_COUNT
    device, dtype = device_and_dtype(spec)
    index = path / "model_index.json"
    # The mtime catches a folder rebuilt in place at the same path.
    key = (str(path.resolve()), index.stat().st_mtime_ns, spec.pipeline_class, spec.scheduler, device, str(dtype))
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    _drop_beyond(MAX_LOADED - 1)  # free the least recently used before loading the next

    import diffusers
    import transformers
    from diffusers.utils import is_accelerate_available

    # Loading bars would clutter the run's output on every model switch; warnings stay on, but
    # for transformers' notice that torchvision is missing: its PIL image processors serve (the
    # pipelines here run no safety checker), so the notice on every run is only noise.
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    # (a logger adds a filter it already has only once)
    logging.getLogger("transformers.utils.import_utils").addFilter(_without_torchvision_notice)
    cls = _pipeline_class(spec.pipeline_class)
    pipe = cls.from_pretrained(
        path,
        local_files_only=True,  # never download: weights load from local paths only
        use_safetensors=True,  # never unpickle weights: a .bin checkpoint could run code (SECURITY.md)
        dtype=dtype,  # diffusers' current name for torch_dtype
        # Low-memory loading needs accelerate; asking for it without warns on every load.
        low_cpu_mem_usage=is_accelerate_available(),
    )
    if spec.scheduler:
        scheduler_cls = getattr(diffusers, spec.scheduler, None)
        if scheduler_cls is None or not hasattr(scheduler_cls, "from_config"):
            raise ValueError(f"{spec.scheduler!r} is not a diffusers scheduler class")
        pipe.scheduler = scheduler_cls.from_config(pipe.scheduler.config)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    loaded = _LOADED[key] = _Loaded(key, pipe)
    LOAD_COUNT += 1
    return loaded


def overscan_px(spec: ModelSpec) -> int:
    """Pixels generated beyond each edge and cropped off: EDGE_OVERSCAN_PX in whole `multiple`s."""
    return -(-EDGE_OVERSCAN_PX // spec.multiple) * spec.multiple if EDGE_OVERSCAN_PX else 0


def pad_edges(pipe, mode: str = "zeros") -> int:
    """Set the padding mode of every padded Conv2d in the pipeline's modules; returns how many changed.

    "zeros" is PyTorch's default (and the cause of the edge frame); "replicate" repeats the
    edge pixels. The pipeline keeps "zeros" (see EDGE_OVERSCAN_PX); benchmarks/edge_frame.py
    uses this to compare the two.
    """
    import torch

    changed = 0
    for component in pipe.components.values():
        if not isinstance(component, torch.nn.Module):
            continue
        for module in component.modules():
            if isinstance(module, torch.nn.Conv2d) and any(module.padding) and module.padding_mode != mode:
                module.padding_mode = mode
                changed += 1
    return changed


def kept_inset(ext: Extension) -> tuple[int, int, int, int]:
    """The part of an extension that keeps the key visual's own pixels: its inset less a band on
    each side where the painting lies beyond it (none where it meets the canvas edge). The band is
    an eighth of the inset across that edge, in whole latent px (8), 8 to OUTPAINT_BAND_PX."""
    left, top, right, bottom = ext.inset

    def band(extent: int) -> int:
        return max(8, min(OUTPAINT_BAND_PX, extent // 8 // 8 * 8))

    across, down = band(right - left), band(bottom - top)
    return (
        left + across if left > 0 else left,
        top + down if top > 0 else top,
        right - across if right < ext.width else right,
        bottom - down if bottom < ext.height else bottom,
    )


def to_images(batch: np.ndarray) -> list[Image.Image]:
    """float [0, 1] NHWC -> PIL, refusing NaN or black output so the caller can fall back."""
    if np.isnan(batch).any():
        raise GenerationError("output has NaN pixels")
    images = []
    for array in batch:
        if float(array.max()) < BLACK_LEVEL:
            raise GenerationError("output is a black image")
        # Same rounding as diffusers' numpy_to_pil.
        images.append(Image.fromarray((np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)))
    return images


class DraftGenerator:
    """Generates drafts with registry models. Cheap to create; the loaded pipeline is per process.

    `registry` is optional: a spec that came from a registry already knows its home.
    """

    def __init__(self, registry: Registry | None = None):
        self.registry = registry
        self._hosted = None

    @property
    def hosted(self):
        """The hosted models' generator (models/hosted/): a spec with a `provider` goes to it."""
        if self._hosted is None:
            from asset_pipeline.models.hosted import HostedGenerator

            self._hosted = HostedGenerator()
        return self._hosted

    def weights_path(self, spec: ModelSpec) -> Path | None:
        if self.registry is not None:
            return self.registry.resolve_path(spec)
        home = spec._home
        if home is None:
            from asset_pipeline.home import Home

            home = Home.from_env().root
        return resolve_weights(spec, home)

    def load(self, spec: ModelSpec):
        """Load (or reuse) the spec's pipeline; FileNotFoundError when its weights are absent."""
        return self._loaded(spec).pipe

    def _loaded(self, spec: ModelSpec) -> _Loaded:
        path = self.weights_path(spec)
        if path is None:
            raise FileNotFoundError(f"weights not found for {spec.path!r} (local folder or local HF cache)")
        with PIPELINE_LOCK:
            return _load(spec, path)

    def generate(
        self,
        spec: ModelSpec,
        prompts: list[str],
        negatives: list[str | None],
        seeds: list[int],
        width: int,
        height: int,
        overscan: int | None = None,
    ) -> list[Image.Image]:
        """One image per (prompt, negative, seed), at exactly width x height.

        Generated `overscan` px larger on every side (default `overscan_px(spec)`) and cropped,
        so no pixel of the result lies at the canvas edge the convolutions zero-pad."""
        if not len(prompts) == len(negatives) == len(seeds):
            raise ValueError("prompts, negatives and seeds must have the same length")
        if spec.provider is not None:
            return self.hosted.generate(spec, prompts, negatives, seeds, width, height)
        if width % spec.multiple or height % spec.multiple:
            raise ValueError(f"{width}x{height} is not a multiple of {spec.multiple} (model {spec.id}); use draft_size")
        if not prompts:
            return []
        extra = overscan_px(spec) if overscan is None else overscan
        if extra % spec.multiple:
            raise ValueError(f"overscan {extra} is not a multiple of {spec.multiple} (model {spec.id})")
        with PIPELINE_LOCK:
            pipe = self.load(spec)
            device, _dtype = device_and_dtype(spec)
            if device == "cpu":  # per image: bytes must not depend on batch neighbours
                groups = [[i] for i in range(len(prompts))]
            else:
                groups = [list(range(len(prompts)))]
            images: list[Image.Image] = []
            for group in groups:
                images += self._call(
                    pipe,
                    spec,
                    [prompts[i] for i in group],
                    [negatives[i] for i in group],
                    [seeds[i] for i in group],
                    width + 2 * extra,
                    height + 2 * extra,
                )
        if extra:
            images = [image.crop((extra, extra, extra + width, extra + height)) for image in images]
        return images

    def derived(self, spec: ModelSpec, task: str):
        """The loaded pipeline as an inpainting or image-to-image pipeline: `from_pipe` shares the
        loaded components (no second load, no second copy of the weights)."""
        import diffusers

        with PIPELINE_LOCK:
            loaded = self._loaded(spec)
            base = loaded.pipe
            if task not in loaded.derived:
                # The SD families by name (importing the Auto classes loads every pipeline diffusers has).
                name = type(base).__name__.replace("Pipeline", "") + (
                    "InpaintPipeline" if task == "inpaint" else "Img2ImgPipeline"
                )
                auto = {"inpaint": "AutoPipelineForInpainting", "img2img": "AutoPipelineForImage2Image"}[task]
                cls = getattr(diffusers, name, None) or getattr(diffusers, auto)
                # from_pipe re-casts the shared modules to their own dtype and warns that it did
                quiet = diffusers.utils.logging.get_verbosity()
                diffusers.utils.logging.set_verbosity_error()
                try:
                    pipe = cls.from_pipe(base)
                except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a family with no such pipeline
                    raise GenerationError(f"{spec.id} cannot {task}: {exc}".splitlines()[0]) from exc
                finally:
                    diffusers.utils.logging.set_verbosity(quiet)
                pipe.set_progress_bar_config(disable=True)
                loaded.derived[task] = pipe
            return loaded.derived[task]

    def restyle(
        self,
        spec: ModelSpec,
        reference: Image.Image,
        prompts: list[str],
        negatives: list[str | None],
        seeds: list[int],
        width: int,
        height: int,
        strength: float,
    ) -> list[Image.Image]:
        """Like `generate`, but each image starts from `reference` (image-to-image, the loaded
        pipeline through `from_pipe`): cut to the canvas's aspect around its centre, noised by
        `strength` (0 keeps the reference, 1 ignores it) and denoised with the prompt."""
        from asset_pipeline.framing import crop_to_aspect

        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be within 0..1, not {strength}")
        if spec.provider is not None:
            return self.hosted.generate(spec, prompts, negatives, seeds, width, height, reference, strength)
        extra = overscan_px(spec)
        start = crop_to_aspect(reference.convert("RGB"), width + 2 * extra, height + 2 * extra)
        images = []
        with PIPELINE_LOCK:
            pipe = self.derived(spec, "img2img")
            for prompt, negative, seed in zip(prompts, negatives, seeds):  # one per call, as `generate` on CPU
                images += self._call(
                    pipe,
                    spec,
                    [prompt],
                    [negative],
                    [seed],
                    None,
                    None,
                    image=start,
                    strength=strength,
                    # diffusers runs int(steps * strength) of the schedule: ask for enough that the
                    # model's own step count runs (a low strength would otherwise run none at all)
                    num_inference_steps=math.ceil(spec.steps / max(strength, 1e-3)),
                )
        return [image.crop((extra, extra, extra + width, extra + height)) for image in images]

    def outpaint(
        self, spec: ModelSpec, key: Image.Image, ext: Extension, prompt: str, negative: str | None, seed: int
    ) -> Image.Image:
        """The key visual extended to ext.width x ext.height by the same model's inpainting.

        The key visual is scaled into `ext.inset`; everything around it (and the overscan, and its
        own outer OUTPAINT_BAND_PX) is painted, starting from its edge pixels carried outwards.
        Inside that band its pixels are put back unchanged, and the painting is corrected to meet
        them without a seam (`blending.meet_at_inset`), so every size cut from the extension shows
        the same picture as the sizes cut from the key visual."""
        extra = overscan_px(spec)
        left, top, right, bottom = ext.inset
        inner = np.asarray(key.convert("RGB").resize((right - left, bottom - top), Image.Resampling.LANCZOS))
        pads = ((top + extra, ext.height - bottom + extra), (left + extra, ext.width - right + extra), (0, 0))
        start = Image.fromarray(np.pad(inner, pads, mode="edge"))
        kept = kept_inset(ext)
        keep = np.zeros((ext.height + 2 * extra, ext.width + 2 * extra), dtype=np.float32)
        keep[kept[1] + extra : kept[3] + extra, kept[0] + extra : kept[2] + extra] = 1.0
        mask = Image.fromarray(((1.0 - keep) * 255).astype(np.uint8))
        painted = self._paint(spec, start, mask, prompt, negative, seed)
        painted = np.asarray(painted, dtype=np.float64)[extra : extra + ext.height, extra : extra + ext.width]
        original = np.asarray(start, dtype=np.float64)[extra : extra + ext.height, extra : extra + ext.width]
        met = meet_at_inset(painted, original, kept)
        return Image.fromarray(np.clip(met + 0.5, 0, 255).astype(np.uint8))

    def _paint(
        self,
        spec: ModelSpec,
        start: Image.Image,
        mask: Image.Image,
        prompt: str,
        negative: str | None,
        seed: int,
        strength: float = 1.0,
    ) -> Image.Image:
        """`start` with the mask's white area painted by the model (its size, overscan included):
        diffusers' inpainting pipeline where the UNet allows it, else latent blending. `strength`
        < 1 starts the painting from the start's own pixels, noised that far."""
        if spec.provider is not None:  # the callers note it and crop or composite instead
            raise GenerationError(f"{spec.id} is a hosted model: it does not outpaint or inpaint here")
        size = start.size
        with PIPELINE_LOCK:
            base = self.load(spec)
            if base.unet.config.in_channels in (4, 9):  # what diffusers' inpainting pipelines accept
                pipe = self.derived(spec, "inpaint")
                kwargs: dict[str, Any] = {"image": start, "mask_image": mask, "strength": strength}
                if strength < 1.0:  # diffusers runs int(steps * strength): ask for enough that the model's own run
                    kwargs["num_inference_steps"] = math.ceil(spec.steps / max(strength, 1e-3))
                (painted,) = self._call(pipe, spec, [prompt], [negative], [seed], *size, **kwargs)
            else:  # e.g. the embedded model's 8 latent channels: the same blending, on the loaded pipeline
                blending = _latent_blending(base, start, mask, seed, strength)
                (painted,) = self._call(base, spec, [prompt], [negative], [seed], *size, **blending)
        return painted

    def inpaint(
        self,
        spec: ModelSpec,
        image: Image.Image,
        mask: Image.Image,
        prompt: str,
        negative: str | None,
        seed: int,
        strength: float = 1.0,
    ) -> Image.Image:
        """`image` with the area `mask` (L) marks painted by the model, everything else kept. The
        model repaints wherever the mask is above 0; its value is how much of the painting is
        kept there (255: all), and a hard edge is feathered over SEAM_PX, so no seam shows.

        The image is generated with the spec's overscan (its edge pixels carried outwards, kept),
        as every draft is, and cropped back to its own size. `strength` as in `_paint`."""
        from PIL import ImageFilter

        extra = overscan_px(spec)
        soft = mask.convert("L")
        pixels = np.asarray(image.convert("RGB"))
        start = Image.fromarray(np.pad(pixels, ((extra, extra), (extra, extra), (0, 0)), mode="edge"))
        repaint = (np.asarray(soft) > 0).astype(np.uint8) * 255
        padded = Image.fromarray(np.pad(repaint, extra))  # the overscan is kept
        painted = self._paint(spec, start, padded, prompt, negative, seed, strength)
        # What the VAE round trip (and the palette grade) alone does to the start: a small VAE
        # shifts colours by several ΔE and rings at hard edges (a product's outline), which left a
        # halo and a fringe round the repainted area. Taken off the painting, what is left is the
        # model's own change (light, shadow, floor), not its codec's.
        trip = np.asarray(self._round_trip(spec, start, prompt), dtype=np.float32) - np.asarray(start, np.float32)
        painted = (np.asarray(painted, dtype=np.float32) - trip)[
            extra : extra + image.height, extra : extra + image.width
        ]
        weight = np.maximum(np.asarray(soft.filter(ImageFilter.GaussianBlur(SEAM_PX / 2)), np.float32), soft)
        weight = (weight / 255.0)[..., None]
        blended = painted * weight + pixels.astype(np.float32) * (1 - weight)
        return Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8))

    def _round_trip(self, spec: ModelSpec, image: Image.Image, prompt: str) -> Image.Image:
        """`image` through the loaded pipeline's VAE (encode, decode) and its palette grade: what
        generation does to pixels it keeps."""
        import torch

        with PIPELINE_LOCK, torch.inference_mode():
            pipe = self.load(spec)
            pixels = pipe.image_processor.preprocess(image).to(pipe.vae.device, pipe.vae.dtype)
            decoded = pipe.vae.decode(pipe.vae.encode(pixels).latent_dist.mode()).sample
            array = pipe.image_processor.postprocess(decoded.float(), output_type="np")[0]
        (out,) = to_images(np.asarray(array, dtype=np.float32)[None])
        if spec.palette_grade:
            from asset_pipeline.models.grading import grade, named_colours

            out = grade(out, named_colours(prompt), spec.palette_grade)
        return out

    def _call(
        self, pipe, spec: ModelSpec, prompts, negatives, seeds, width: int | None, height: int | None, **extra
    ) -> list[Image.Image]:
        import torch

        kwargs: dict[str, Any] = {"num_inference_steps": spec.steps, **extra}
        if any(negatives):  # "" is what the pipelines use for "no negative" anyway
            kwargs["negative_prompt"] = [n or "" for n in negatives]
        if width is not None:  # image-to-image takes its size from the image
            kwargs.update(width=width, height=height)
        try:
            with torch.inference_mode():
                out = pipe(
                    prompt=prompts,
                    guidance_scale=spec.guidance,
                    generator=[torch.Generator("cpu").manual_seed(seed) for seed in seeds],
                    output_type="np",  # checked for NaN before the uint8 conversion hides it
                    **kwargs,
                )
        except Exception as exc:  # out of memory, or a checkpoint that loads but cannot run
            if is_disk_full(exc):  # the machine's fault, not the model's: no fallback (storage/disk.py)
                raise
            raise GenerationError(f"generation failed: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        images = to_images(np.asarray(out.images, dtype=np.float32))
        if spec.palette_grade:
            from asset_pipeline.models.grading import grade, named_colours

            images = [grade(image, named_colours(prompt), spec.palette_grade) for image, prompt in zip(images, prompts)]
        return images


def _latent_blending(pipe, start: Image.Image, mask: Image.Image, seed: int, strength: float = 1.0) -> dict[str, Any]:
    """Keyword arguments that make a text-to-image call inpaint, for UNets diffusers' inpainting
    pipelines refuse: after every denoising step the kept region's latents are replaced by the
    start image's latents noised to the next step's level. It is the blending diffusers'
    StableDiffusionInpaintPipeline does for 4-channel UNets (its `num_channels_unet == 4` branch),
    as a step callback, so it works for any latent channel count.

    `strength` < 1 (SDEdit, as the inpainting pipelines' own `strength`): for the first
    (1 - strength) of the steps the whole image is held to the start's noised latents, so the
    repainted area starts from the start's pixels noised to that level, not from pure noise."""
    import torch

    with torch.inference_mode():
        pixels = pipe.image_processor.preprocess(start).to(pipe.vae.device, pipe.vae.dtype)
        known = pipe.vae.encode(pixels).latent_dist.mode() * pipe.vae.config.scaling_factor
        size = known.shape[-2:]
        repaint = torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255.0)[None, None]
        repaint = torch.nn.functional.interpolate(repaint, size=size, mode="nearest").to(known)
        noise = torch.randn(known.shape, generator=torch.Generator("cpu").manual_seed(seed)).to(known)

    def blend(pipe, step: int, timestep, tensors: dict) -> dict:
        timesteps = pipe.scheduler.timesteps
        target = known
        if step < len(timesteps) - 1:
            target = pipe.scheduler.add_noise(known, noise, timesteps[step + 1 : step + 2])
        latents = tensors["latents"]
        free = repaint if step + 1 >= round((1.0 - strength) * len(timesteps)) else torch.zeros_like(repaint)
        return {"latents": (1 - free) * target.to(latents) + free * latents}

    return {"callback_on_step_end": blend, "callback_on_step_end_tensor_inputs": ["latents"]}

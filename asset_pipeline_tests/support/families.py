"""Test and benchmark fixtures: tiny random pipelines of each architecture family the registry can
route to, built locally (folders are built and renamed into place by `tiny.ensure_tiny_model`).

Each builder makes a genuine diffusers pipeline folder (model_index.json, safetensors
weights, tokenizer files) from config alone, the way diffusers' own tests make their dummy
components (`get_dummy_components` for StableDiffusionXLPipeline, StableDiffusion3Pipeline
and FluxPipeline): `torch.manual_seed(0)` before each component, tiny widths, and tokenizers
whose files are written here. Nothing comes from a hub, so a folder loads through exactly
the path a real checkpoint takes (`from_pretrained(local_files_only=True)`) and two builds
with the same torch/diffusers/transformers are byte-identical.

Families:

- ``sd``   StableDiffusionPipeline (UNet + one CLIP encoder; SD 1.x/2.x/SD-Turbo style).
           The built-in `tiny` model, so it delegates to `tiny.py`.
- ``sdxl`` StableDiffusionXLPipeline (UNet with text-time conditioning, CLIP + CLIP with
           projection, their hidden states concatenated for cross-attention).
- ``sd3``  StableDiffusion3Pipeline (SD3Transformer2DModel, patch size 2; two CLIPs with
           projection + a T5 encoder; FlowMatchEulerDiscreteScheduler).
- ``flux`` FluxPipeline (FluxTransformer2DModel; CLIP for the pooled vector + T5 for the
           sequence; latents packed 2x2, so sides must be multiples of vae_scale * 2).

All four run a 256 px image in well under a second on two CPU cores: VAEs have a
scale factor of 2 (UNets) or 4 (transformers, so the token count stays ~1k), self-attention
only runs at low resolution, and the VAE mid-block attention is off.

`build_sd_turbo_architecture` is the other end: SD-Turbo's real architecture (SD 2.1 UNet,
OpenCLIP ViT-H text encoder, SD VAE) with random weights, from config values typed in from the
published configs, for benchmarks with a realistic compute cost. Saved in float16
safetensors (~2.6 GB; ~1.29 G parameters); `from_pretrained` upcasts to float32 on CPU.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asset_pipeline.models.tiny import MERGES_TXT, build_tiny, ensure_tiny_model, tokenizer_vocab

# ------------------------------------------------------------------------------ tokenizers


def _clip_tokenizer(model_max_length: int = 77):
    """Byte-level CLIP tokenizer with no merges (tiny.py's): any text tokenizes, byte by byte."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer(vocab=tokenizer_vocab(), merges=[], model_max_length=model_max_length)


def _write_clip_files(folder: Path) -> None:
    """The classic vocab.json/merges.txt beside tokenizer.json, as real checkpoints ship them."""
    (folder / "vocab.json").write_text(json.dumps(tokenizer_vocab(), ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text(MERGES_TXT, encoding="utf-8")


T5_SPECIALS = ("<pad>", "</s>", "<unk>")  # ids 0, 1, 2: T5's layout


def _t5_vocab() -> list[tuple[str, float]]:
    """Unigram vocabulary: T5's specials, the word-start marker, and every printable ASCII
    character alone and word-initial ("▁a"). Equal scores: a word is spelled out by
    characters; anything else (non-ASCII) maps to <unk>."""
    chars = [chr(c) for c in range(33, 127)]
    pieces = [(token, 0.0) for token in T5_SPECIALS] + [("▁", -2.0)]
    pieces += [("▁" + c, -1.0) for c in chars] + [(c, -1.0) for c in chars]
    return pieces


def _t5_tokenizer(model_max_length: int = 512):
    """T5's fast tokenizer (Unigram model, tokenizer.json only) over a vocabulary written here."""
    from transformers import T5TokenizerFast

    return T5TokenizerFast(vocab=_t5_vocab(), extra_ids=0, model_max_length=model_max_length)


T5_VOCAB_SIZE = 200  # embedding rows: room to spare over the tokenizer's 192 pieces


def _t5_encoder(d_model: int):
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=T5_VOCAB_SIZE,
        d_model=d_model,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=32,
        dropout_rate=0.0,
        feed_forward_proj="gated-gelu",  # T5 v1.1, as SD3 and Flux use
        is_encoder_decoder=False,
        use_cache=False,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        tie_word_embeddings=False,
    )
    return T5EncoderModel(config).eval()


def _clip_config(hidden: int = 32, projection: int = 32):
    from transformers import CLIPTextConfig

    vocab = tokenizer_vocab()
    return CLIPTextConfig(
        bos_token_id=vocab["<|startoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],  # pooled output is taken at this token
        pad_token_id=vocab["<|endoftext|>"],
        hidden_size=hidden,
        intermediate_size=37,
        layer_norm_eps=1e-5,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=1000,  # room to spare over the tokenizer's 514 tokens
        max_position_embeddings=77,
        hidden_act="gelu",
        projection_dim=projection,
    )


def _tiny_vae(blocks: int, latent_channels: int, *, flow: bool = False):
    """A VAE with `blocks` blocks (scale factor 2**(blocks-1)) and no mid-block attention."""
    from diffusers import AutoencoderKL

    extra = {}
    if flow:  # SD3/Flux VAEs: no quant convs, shift + scale normalisation of latents
        extra = dict(use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=[32, 32, 64, 64][:blocks],
        down_block_types=["DownEncoderBlock2D"] * blocks,
        up_block_types=["UpDecoderBlock2D"] * blocks,
        latent_channels=latent_channels,
        layers_per_block=1,
        norm_num_groups=32,
        sample_size=256,
        mid_block_add_attention=False,  # attention over every latent pixel is the slow part
        **extra,
    )


def _save(pipe, folder: Path, clip_tokenizers: tuple[str, ...]) -> None:
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    pipe.save_pretrained(folder, safe_serialization=True)
    for name in clip_tokenizers:
        _write_clip_files(folder / name)


# ---------------------------------------------------------------------------- the families


def _build_sdxl(folder: Path) -> None:
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    hidden, projection, time_dim = 32, 32, 8
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=128,  # latent side at 256 px (VAE factor 2)
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 2, 4),
        use_linear_projection=True,
        transformer_layers_per_block=(1, 1, 2),
        addition_embed_type="text_time",  # SDXL's size/crop conditioning + pooled text
        addition_time_embed_dim=time_dim,
        projection_class_embeddings_input_dim=6 * time_dim + projection,  # 6 time ids + pooled CLIP-2
        cross_attention_dim=2 * hidden,  # both encoders' hidden states, concatenated
        norm_num_groups=32,
    )
    torch.manual_seed(0)
    vae = _tiny_vae(2, 4)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_clip_config(hidden, projection)).eval()
    torch.manual_seed(0)
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config(hidden, projection)).eval()
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=_clip_tokenizer(),
        tokenizer_2=_clip_tokenizer(),
        unet=unet,
        scheduler=scheduler,
        force_zeros_for_empty_prompt=True,
        add_watermarker=False,
    )
    _save(pipe, folder, ("tokenizer", "tokenizer_2"))


def _build_sd3(folder: Path) -> None:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    hidden, projection, t5_dim = 32, 32, 64
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=64,  # latent side at 256 px (VAE factor 4)
        patch_size=2,
        in_channels=4,
        out_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=t5_dim,  # == T5 width; the CLIP states (2*32) are padded to it
        caption_projection_dim=32,  # == heads * head dim
        pooled_projection_dim=2 * projection,  # both CLIPs' pooled outputs, concatenated
        pos_embed_max_size=96,
    )
    torch.manual_seed(0)
    vae = _tiny_vae(3, 4, flow=True)
    torch.manual_seed(0)
    text_encoder = CLIPTextModelWithProjection(_clip_config(hidden, projection)).eval()
    torch.manual_seed(0)
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config(hidden, projection)).eval()
    torch.manual_seed(0)
    text_encoder_3 = _t5_encoder(t5_dim)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_clip_tokenizer(),
        text_encoder_2=text_encoder_2,
        tokenizer_2=_clip_tokenizer(),
        text_encoder_3=text_encoder_3,
        tokenizer_3=_t5_tokenizer(256),
    )
    _save(pipe, folder, ("tokenizer", "tokenizer_2"))


def _build_flux(folder: Path) -> None:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel

    hidden, t5_dim, latent_channels = 32, 64, 4
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1,  # the pipeline packs 2x2 latent patches itself
        in_channels=4 * latent_channels,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=t5_dim,
        pooled_projection_dim=hidden,  # CLIP's pooled output
        guidance_embeds=False,  # schnell-style: guidance_scale is ignored
        axes_dims_rope=[4, 6, 6],  # sums to attention_head_dim
    )
    torch.manual_seed(0)
    vae = _tiny_vae(3, latent_channels, flow=True)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_clip_config(hidden, hidden)).eval()
    torch.manual_seed(0)
    text_encoder_2 = _t5_encoder(t5_dim)
    # Schnell's scheduler config: shift 1, no resolution-dependent shift.
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)
    pipe = FluxPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_clip_tokenizer(),
        text_encoder_2=text_encoder_2,
        tokenizer_2=_t5_tokenizer(512),
        transformer=transformer,
    )
    _save(pipe, folder, ("tokenizer",))


@dataclass(frozen=True)
class Family:
    """One architecture family: its pipeline class, builder, and how to register what it builds.

    `min_multiple` is what the pipeline itself needs of a side: the VAE scale factor for
    UNets, vae_scale * patch_size for SD3 (it refuses others), vae_scale * 2 for Flux (it
    silently rounds others down, so a draft would come out smaller than asked).
    The registry `multiple` must be a multiple of it.
    """

    name: str
    pipeline_class: str
    vae_scale_factor: int
    patch_size: int
    min_multiple: int
    resolution: int
    multiple: int
    steps: int
    guidance: float
    build: Callable[[Path], None]
    note: str

    def registry_entry(
        self, model_id: str, path: str | Path, *, pipeline_class: str = "auto", tiers: tuple[str, ...] = ("draft",)
    ) -> dict:
        """A models.yaml `models:` entry for a folder this family built."""
        return {
            "id": model_id,
            "path": str(path),
            "pipeline_class": pipeline_class,
            "steps": self.steps,
            "guidance": self.guidance,
            "resolution": self.resolution,
            "multiple": self.multiple,
            "tiers": list(tiers),
        }


FAMILIES: dict[str, Family] = {
    "sd": Family(
        "sd",
        "StableDiffusionPipeline",
        vae_scale_factor=2,
        patch_size=1,
        min_multiple=2,
        resolution=256,
        multiple=16,
        steps=2,
        guidance=0.0,
        build=build_tiny,
        note="the built-in tiny model (tiny.py); real SD 1.x/2.x: vae scale 8, multiple 8",
    ),
    "sdxl": Family(
        "sdxl",
        "StableDiffusionXLPipeline",
        vae_scale_factor=2,
        patch_size=1,
        min_multiple=2,
        resolution=256,
        multiple=16,
        steps=2,
        guidance=0.0,
        build=_build_sdxl,
        note="real SDXL: vae scale 8, multiple 8, resolution 1024 (turbo: 512)",
    ),
    "sd3": Family(
        "sd3",
        "StableDiffusion3Pipeline",
        vae_scale_factor=4,
        patch_size=2,
        min_multiple=8,
        resolution=256,
        multiple=16,
        steps=2,
        guidance=0.0,
        build=_build_sd3,
        note="real SD3/3.5: vae scale 8 x patch 2 = multiple 16, resolution 1024",
    ),
    "flux": Family(
        "flux",
        "FluxPipeline",
        vae_scale_factor=4,
        patch_size=2,
        min_multiple=8,
        resolution=256,
        multiple=16,
        steps=2,
        guidance=0.0,
        build=_build_flux,
        note="real FLUX.1: vae scale 8 x 2x2 packing = multiple 16, resolution 1024",
    ),
}


def build_family_model(family: str, folder: Path) -> Path:
    """Build the tiny random pipeline of `family` into `folder` (kept if already built); returns it."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    return ensure_tiny_model(Path(folder), FAMILIES[family].build)


# ------------------------------------------------------------------ SD-Turbo's architecture

# From stabilityai/sd-turbo's published unet/, text_encoder/, vae/ and scheduler/ configs
# (SD 2.1 architecture at 512 px), typed in here: nothing is downloaded.
SD_TURBO_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    center_input_sample=False,
    flip_sin_to_cos=True,
    freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    mid_block_type="UNetMidBlock2DCrossAttn",
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    only_cross_attention=False,
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    downsample_padding=1,
    mid_block_scale_factor=1,
    act_fn="silu",
    norm_num_groups=32,
    norm_eps=1e-5,
    cross_attention_dim=1024,
    attention_head_dim=(5, 10, 20, 20),  # diffusers' legacy name: heads per block (head dim 64)
    dual_cross_attention=False,
    use_linear_projection=True,
    upcast_attention=False,
    resnet_time_scale_shift="default",
    time_embedding_type="positional",
    conv_in_kernel=3,
    conv_out_kernel=3,
)
SD_TURBO_TEXT = dict(  # OpenCLIP ViT-H/14 text tower, penultimate layer (23 of 24 layers kept)
    vocab_size=49408,
    hidden_size=1024,
    intermediate_size=4096,
    num_hidden_layers=23,
    num_attention_heads=16,
    max_position_embeddings=77,
    hidden_act="gelu",
    layer_norm_eps=1e-5,
    projection_dim=512,
)
SD_TURBO_VAE = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(128, 256, 512, 512),
    layers_per_block=2,
    act_fn="silu",
    latent_channels=4,
    norm_num_groups=32,
    sample_size=768,
    scaling_factor=0.18215,
)
SD_TURBO_SCHEDULER = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    prediction_type="epsilon",
    interpolation_type="linear",
    use_karras_sigmas=False,
    timestep_spacing="trailing",
    steps_offset=1,
)
SD_TURBO_ENTRY = dict(
    pipeline_class="StableDiffusionPipeline", steps=1, guidance=0.0, dtype="float16", resolution=512, multiple=8
)


def sd_turbo_architecture_pipeline(dtype=None):
    """SD-Turbo's architecture with random weights, in memory (float32 unless `dtype`)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    vocab = tokenizer_vocab()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD_TURBO_UNET)
    torch.manual_seed(0)
    vae = AutoencoderKL(**SD_TURBO_VAE)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
            **SD_TURBO_TEXT,
        )
    ).eval()
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_clip_tokenizer(),
        unet=unet,
        scheduler=EulerDiscreteScheduler(**SD_TURBO_SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    if dtype is not None:
        pipe.to(dtype=dtype)
    return pipe


def build_sd_turbo_architecture(folder: Path) -> Path:
    """SD-Turbo's architecture with random weights, saved in float16 safetensors (~2.6 GB) into
    `folder` (kept if already built). Images are noise; compute and memory are the real model's.

    The tokenizer is tiny.py's byte-level CLIP tokenizer (the real BPE vocabulary cannot be
    written without downloading it); prompts are padded to 77 tokens either way, so the text
    encoder's cost is the same.
    """
    import torch

    def build(tmp: Path) -> None:
        pipe = sd_turbo_architecture_pipeline(torch.float16)
        _save(pipe, tmp, ("tokenizer",))

    return ensure_tiny_model(Path(folder), build)


# ---------------------------------------------------------------- SDXL-Turbo's architecture

# From stabilityai/sdxl-turbo's published unet/, text_encoder/, text_encoder_2/, vae/ and
# scheduler/ configs (the SDXL base architecture at 512 px), typed in here.
SDXL_TURBO_UNET = dict(
    SD_TURBO_UNET,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    block_out_channels=(320, 640, 1280),
    attention_head_dim=(5, 10, 20),
    transformer_layers_per_block=(1, 2, 10),
    cross_attention_dim=2048,  # CLIP ViT-L (768) + OpenCLIP bigG (1280) hidden states, concatenated
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,  # 6 time ids x 256 + pooled bigG 1280
)
SDXL_TURBO_TEXT = dict(  # CLIP ViT-L/14 text tower
    vocab_size=49408,
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=77,
    hidden_act="quick_gelu",
    layer_norm_eps=1e-5,
    projection_dim=768,
)
SDXL_TURBO_TEXT_2 = dict(  # OpenCLIP ViT-bigG/14 text tower, with its projection
    vocab_size=49408,
    hidden_size=1280,
    intermediate_size=5120,
    num_hidden_layers=32,
    num_attention_heads=20,
    max_position_embeddings=77,
    hidden_act="gelu",
    layer_norm_eps=1e-5,
    projection_dim=1280,
)
SDXL_TURBO_SCHEDULER = {
    k: v for k, v in SD_TURBO_SCHEDULER.items() if k not in ("interpolation_type", "use_karras_sigmas")
}  # Euler ancestral has neither
SDXL_TURBO_VAE = dict(SD_TURBO_VAE, sample_size=512, scaling_factor=0.13025, force_upcast=True)
SDXL_TURBO_ENTRY = dict(
    pipeline_class="StableDiffusionXLPipeline", steps=1, guidance=0.0, dtype="float16", resolution=512, multiple=8
)


def sdxl_turbo_architecture_pipeline(dtype=None):
    """SDXL-Turbo's architecture with random weights (~3.5 G parameters), in memory."""
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    vocab = tokenizer_vocab()
    ids = dict(
        bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"]
    )
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SDXL_TURBO_UNET)
    torch.manual_seed(0)
    vae = AutoencoderKL(**SDXL_TURBO_VAE)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(**ids, **SDXL_TURBO_TEXT)).eval()
    torch.manual_seed(0)
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**ids, **SDXL_TURBO_TEXT_2)).eval()
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=_clip_tokenizer(),
        tokenizer_2=_clip_tokenizer(),
        unet=unet,
        scheduler=EulerAncestralDiscreteScheduler(**SDXL_TURBO_SCHEDULER),
        force_zeros_for_empty_prompt=True,
        add_watermarker=False,
    )
    if dtype is not None:
        pipe.to(dtype=dtype)
    return pipe


def build_sdxl_turbo_architecture(folder: Path) -> Path:
    """SDXL-Turbo's architecture with random weights, saved in float16 safetensors (~7 GB)
    into `folder` (kept if already built); as build_sd_turbo_architecture."""
    import torch

    def build(tmp: Path) -> None:
        pipe = sdxl_turbo_architecture_pipeline(torch.float16)
        _save(pipe, tmp, ("tokenizer", "tokenizer_2"))

    return ensure_tiny_model(Path(folder), build)


# ------------------------------------------------------------------ the SD x4 upscaler


UPSCALER_MAX_NOISE_LEVEL = 350
# Narrower than diffusers' test model (32, 32, 64): both run at the low-res input's full
# size and the VAE decodes at 4x that, so width is what costs (a 1080 px deliverable
# decodes at 1088 px). Three blocks still make the VAE's 4x.
UPSCALER_WIDTHS = (8, 8, 16)
# A models.yaml entry for a folder build_tiny_upscaler made (add id and path). The real
# stabilityai/stable-diffusion-x4-upscaler: the same class and multiple, steps 20-75, guidance 9.
TINY_UPSCALER_ENTRY = dict(
    pipeline_class="StableDiffusionUpscalePipeline",
    steps=2,
    guidance=0.0,
    resolution=256,
    multiple=8,
    tiers=["upscale"],
)


def _build_sd_x4_upscaler(folder: Path) -> None:
    """StableDiffusionUpscalePipeline with the x4 upscaler's architecture at tiny widths.

    As diffusers' own fast tests build it (`dummy_cond_unet_upscale`, `dummy_vae`): a UNet
    taking 7 channels (4 latent + the 3 noised low-res RGB channels), the noise level as a
    class embedding, cross-attention only in the upper blocks; a 3-block VAE (scale factor
    4, so it enlarges 4x like the real one) with the real checkpoint's scaling factor; DDPM
    to noise the low-res image and DDIM with v-prediction to denoise, as the real one ships.
    """
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionUpscalePipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel

    hidden = 32
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=UPSCALER_WIDTHS,
        norm_num_groups=UPSCALER_WIDTHS[0],
        layers_per_block=1,
        sample_size=32,
        in_channels=7,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=hidden,
        attention_head_dim=8,
        use_linear_projection=True,
        only_cross_attention=(True, True, False),
        num_class_embeds=UPSCALER_MAX_NOISE_LEVEL + 1,  # one embedding per noise level
    )
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=list(UPSCALER_WIDTHS),
        norm_num_groups=UPSCALER_WIDTHS[0],
        layers_per_block=1,
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 3,
        up_block_types=["UpDecoderBlock2D"] * 3,
        latent_channels=4,
        scaling_factor=0.08333,  # the x4 upscaler's; the pipeline warns about any other
        # The real VAE has mid-block attention, over every latent pixel: at the low-res
        # input's full size that is the slow part (minutes on CPU), so the tiny one has none.
        mid_block_add_attention=False,
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_clip_config(hidden, hidden)).eval()
    pipe = StableDiffusionUpscalePipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_clip_tokenizer(),
        unet=unet,
        low_res_scheduler=DDPMScheduler(
            num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.0001, beta_end=0.02
        ),
        scheduler=DDIMScheduler(
            prediction_type="v_prediction",
            beta_schedule="scaled_linear",
            beta_start=0.00085,
            beta_end=0.012,
            clip_sample=False,
            set_alpha_to_one=False,
        ),
        max_noise_level=UPSCALER_MAX_NOISE_LEVEL,
    )
    _save(pipe, folder, ("tokenizer",))


def build_tiny_upscaler(folder: Path) -> Path:
    """Build a tiny random SD x4 upscaler pipeline into `folder` (kept if already built); returns it."""
    return ensure_tiny_model(Path(folder), _build_sd_x4_upscaler)

"""The built-in `tiny` model: a genuine diffusers StableDiffusionPipeline folder built from config.

It is made the way diffusers' own tests make dummy components (`get_dummy_components`):
fixed seeds before each component, tiny widths, a tokenizer whose files are written here.
Nothing comes from a hub, and two builds (with the same torch, diffusers and transformers)
give byte-identical files, so its weights hash, part of every draft's cache key, is stable.

Sized so one 256x256 image with 2 steps takes a fraction of a second on CPU: the VAE has
two blocks (scale factor 2, so the UNet sees a 128x128 latent at 256 px), attention only
runs at the UNet's lowest resolution (32x32), and the VAE's mid-block attention (16k tokens at
128x128) is switched off.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from asset_pipeline.storage.files import sha256_file


def bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP's printable stand-in for each of the 256 bytes (byte-level BPE alphabet)."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def tokenizer_vocab() -> dict[str, int]:
    """Vocabulary of a byte-level CLIP tokenizer with no merges.

    Every byte is a token on its own and at a word's end ("</w>"), so any text
    tokenizes; with no merges a word is simply spelled out byte by byte.
    """
    alphabet = bytes_to_unicode()
    tokens = [*alphabet, *(c + "</w>" for c in alphabet), "<|startoftext|>", "<|endoftext|>"]
    return {token: index for index, token in enumerate(tokens)}


MERGES_TXT = "#version: 0.2\n"  # header only: no merges


def build_tiny(folder: Path) -> None:
    """Build the tiny pipeline from config into `folder` (which must not hold a pipeline yet)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a one-shard "writing" bar is just noise

    hidden = 32  # text width == UNet cross-attention width
    vocab = tokenizer_vocab()

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=128,  # latent side at the native 256 px (VAE factor 2)
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        # Attention only at the quarter-resolution block (32x32 latents at 256 px): self-attention
        # over 64x64 or 128x128 latents is what made a step slow (0.5 s a step instead of 0.06 s).
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        cross_attention_dim=hidden,
        attention_head_dim=2,  # diffusers' legacy name: this is the number of heads
        norm_num_groups=32,
    )

    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=[32, 64],
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=32,
        sample_size=256,
        mid_block_add_attention=False,
    )

    torch.manual_seed(0)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],  # CLIP pools the text embedding at this token
            pad_token_id=vocab["<|endoftext|>"],
            hidden_size=hidden,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            layer_norm_eps=1e-5,
            vocab_size=1000,  # room to spare over the tokenizer's 514 tokens
            max_position_embeddings=77,
        )
    ).eval()

    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)

    # "trailing" spacing makes 1-4 step sampling start from pure noise, as turbo models expect.
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,  # unused with "trailing"; 1 silences diffusers' "outdated config" warning
    )

    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    # The classic files too (save_pretrained writes only tokenizer.json), as real checkpoints ship them.
    (folder / "tokenizer" / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "tokenizer" / "merges.txt").write_text(MERGES_TXT, encoding="utf-8")


def ensure_tiny_model(folder: Path, build: Callable[[Path], None] = build_tiny) -> Path:
    """Return `folder`, building a pipeline there first (`build`, default the tiny one) if it is missing.

    Built in a temporary sibling and renamed into place, so the folder is either absent
    or complete; a file lock stops two processes from building it at the same time.
    """
    folder = Path(folder)
    if (folder / "model_index.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "model_index.json").is_file():  # another process built it while we waited
            return folder
        if folder.exists():  # left-over without model_index.json: not ours to trust
            shutil.rmtree(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.building-", dir=folder.parent))
        try:
            build(tmp)
            os.chmod(tmp, 0o755)  # mkdtemp makes it private
            os.rename(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return folder


_HASH_CACHE: dict[tuple, str] = {}


def _files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())


def weights_hash(folder: Path) -> str:
    """sha256 over the folder's files (sorted relative paths and contents).

    Cached on (path, each file's size and mtime) so asking again is cheap; any rewrite
    of a file changes the key and the hash is computed afresh.
    """
    folder = Path(folder).resolve()
    files = _files(folder)
    stats = tuple((p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(folder), stats)
    if key not in _HASH_CACHE:
        total = hashlib.sha256()
        for path, (rel, _size, _mtime) in zip(files, stats):
            # name and content digest per file, NUL-separated: no two layouts collide
            total.update(rel.encode("utf-8") + b"\0" + bytes.fromhex(sha256_file(path)))
        _HASH_CACHE[key] = total.hexdigest()
    return _HASH_CACHE[key]

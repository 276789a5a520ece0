"""Train the embedded draft model on the procedural corpus and save it as a diffusers pipeline folder.

    python -m training.train_embedded --out asset_pipeline/models/embedded_weights

Three phases, all seeded (`--seed`), each over corpus images drawn in index order
(sample i of a phase always has the same seed, whatever the number of loader workers):

1. a tokenizer: byte-level BPE (Hugging Face `tokenizers`) learnt on corpus captions, so
   colour and pattern words are one token each and any other text still tokenizes byte by byte;
2. the VAE, for reconstruction (L1 + a small KL term) on 256 px crops: the model is fully
   convolutional, so it then encodes and decodes 512 px images too;
3. the UNet and the CLIP text encoder together, on the frozen VAE's latents of 512 px
   images: v-prediction on a zero-terminal-SNR schedule (Lin et al. 2024), so a sampler
   that starts from pure noise can reach any mean colour, which is what on-palette
   backgrounds need; 10% of captions are dropped for classifier-free guidance.

`--resume FOLDER` continues from a saved pipeline instead (tokenizer and encoder kept):
the UNet phase again, at any `--size` (the UNet is convolutional; 256 px is a quarter of
the work per image), optionally with `--high-noise-share` of each batch drawn from the
noisier half of the schedule, where colour is decided; and `--decoder-steps` of decoder
fine-tuning on the frozen encoder's latents (so the UNet's latent space stays valid),
with a low-frequency term in the loss, because colour shifts there take drafts off-palette.

Uses CUDA when there is one (bf16 autocast); the CPU path is the same code, only slower.
`--max-minutes` is a safety net for a time-boxed machine: when it trips, the phase stops
early and the log says how many steps ran.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from asset_pipeline.models.tiny import bytes_to_unicode
from training.corpus import sample

CLIP_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
PHASE_SEEDS = {"tokenizer": 0, "vae": 10_000_000, "unet": 20_000_000, "decoder": 30_000_000}


class CorpusImages(Dataset):
    def __init__(self, first_seed: int, size: int, length: int):
        self.first_seed, self.size, self.length = first_seed, size, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int):
        item = sample(self.first_seed + index, self.size)
        pixels = torch.from_numpy(item.image).permute(2, 0, 1).float() / 127.5 - 1.0
        return pixels, item.caption


def build_tokenizer(seed: int, captions: int = 3000, vocab_size: int = 900):
    """A CLIPTokenizer whose merges are learnt on corpus captions (deterministic for a seed)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import CLIPTokenizer

    texts = [sample(seed + i, 16).caption for i in range(captions)]
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    # CLIP's own normalisation and pre-tokenization, so the learnt merges apply unchanged.
    bpe.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_SPLIT), "removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        end_of_word_suffix="</w>",
        special_tokens=["<|startoftext|>", "<|endoftext|>"],
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    model = json.loads(bpe.to_str())["model"]
    vocab = dict(model["vocab"])
    for char in bytes_to_unicode():  # every byte, mid-word and word-final: any text tokenizes
        for token in (char, char + "</w>"):
            vocab.setdefault(token, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split()) for m in model["merges"]]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77), vocab, merges


def build_components(vocab: dict[str, int]):
    """Untrained VAE, UNet and text encoder, sized for ~1 s per 512 px draft on two CPU cores."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    hidden = 256
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        # Five blocks: 16x down, so a 512 px image is a 32x32 latent (8 channels to keep stripes
        # and dots), and the UNet's work is a quarter of SD's 8x layout. Narrow at full resolution,
        # where a decoder's convolutions cost the most and backgrounds have the least detail.
        # Two norm groups: with one channel per group, GroupNorm would remove each channel's
        # image-wide mean, which is the background's colour (a first run came out sepia).
        latent_channels=8,
        block_out_channels=[8, 16, 32, 64, 64],
        down_block_types=["DownEncoderBlock2D"] * 5,
        up_block_types=["UpDecoderBlock2D"] * 5,
        layers_per_block=1,
        norm_num_groups=2,
        sample_size=512,
        mid_block_add_attention=False,
    )
    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=8,
        out_channels=8,
        block_out_channels=(64, 128, 192),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=hidden,
        attention_head_dim=4,
        norm_num_groups=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
            hidden_size=hidden,
            intermediate_size=4 * hidden,
            num_attention_heads=4,
            num_hidden_layers=4,
            vocab_size=len(vocab),
            max_position_embeddings=77,
        )
    )
    return vae, unet, text_encoder


def _schedulers():
    from diffusers import DDPMScheduler, EulerDiscreteScheduler

    common = dict(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        rescale_betas_zero_snr=True,
        prediction_type="v_prediction",
        steps_offset=1,
    )
    # Euler from "trailing" timesteps: the first step starts at the schedule's pure-noise end.
    return DDPMScheduler(**common), EulerDiscreteScheduler(**common, timestep_spacing="trailing")


def _loader(first_seed: int, size: int, batch: int, steps: int, workers: int) -> DataLoader:
    return DataLoader(
        CorpusImages(first_seed, size, batch * steps),
        batch_size=batch,
        shuffle=False,
        num_workers=workers,
        drop_last=True,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        pin_memory=torch.cuda.is_available(),
    )


def _log_step(log: list, phase: str, done: int, total: int, **values) -> None:
    """Record (and print) the first step, every hundredth after it, and the last of the schedule."""
    if done % 100 == 1 or done == total:
        log.append({"phase": phase, "step": done, **values})
        print(log[-1], flush=True)


def train_vae(vae, args, device, deadline: float, log: list) -> int:
    vae.train().to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    pool = torch.nn.AvgPool2d(16)
    done = 0
    for step, (pixels, _captions) in enumerate(
        _loader(PHASE_SEEDS["vae"] + args.seed, args.vae_size, args.vae_batch, args.vae_steps, args.workers)
    ):
        pixels = pixels.to(device, non_blocking=True)
        with autocast:
            posterior = vae.encode(pixels).latent_dist
            recon = vae.decode(posterior.sample()).sample
        recon = recon.float()
        loss = (recon - pixels).abs().mean() + 1e-6 * posterior.kl().mean()
        if args.colour_weight:
            loss = loss + args.colour_weight * (pool(recon) - pool(pixels)).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done = step + 1
        _log_step(log, "vae", done, args.vae_steps, l1=round(float(loss.detach()), 5))
        if time.time() > deadline:
            break
    return done


def train_vae_decoder(vae, args, device, deadline: float, log: list) -> int:
    """Fine-tune only the decoder on the frozen encoder's latents: the latent space the UNet learnt stays valid.

    The loss adds an L1 on 16x average-pooled images to the pixel L1: a background's colour is its low
    frequencies, and a colour shift there is what takes a draft off-palette.
    """
    vae.requires_grad_(False).train().to(device)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=args.vae_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 + 0.5 * math.cos(math.pi * min(s, args.decoder_steps) / args.decoder_steps)
    )
    gen = torch.Generator(device).manual_seed(args.seed)
    pool = torch.nn.AvgPool2d(16)
    done = 0
    first = PHASE_SEEDS["decoder"] + args.seed
    for step, (pixels, _captions) in enumerate(_loader(first, 256, args.vae_batch, args.decoder_steps, args.workers)):
        pixels = pixels.to(device, non_blocking=True)
        with torch.no_grad():
            latents = vae.encode(pixels).latent_dist.sample(generator=gen)
        recon = vae.decode(latents).sample.float()
        loss = (recon - pixels).abs().mean() + args.colour_weight * (pool(recon) - pool(pixels)).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        done = step + 1
        _log_step(log, "decoder", done, args.decoder_steps, loss=round(float(loss.detach()), 5))
        if time.time() > deadline or done == args.decoder_stop_at:
            break
    vae.requires_grad_(False).eval()
    return done


@torch.no_grad()
def latent_scale(vae, args, device) -> float:
    """1 / std of the latents, diffusers' `scaling_factor`: the UNet then sees unit-variance latents."""
    vae.eval()
    pixels = torch.stack([CorpusImages(PHASE_SEEDS["vae"] + 9_000_000, 256, 64)[i][0] for i in range(64)]).to(device)
    return float(1.0 / vae.encode(pixels).latent_dist.mean.float().std())


def train_unet(unet, text_encoder, tokenizer, vae, args, device, deadline: float, log: list) -> int:
    noise_scheduler, _ = _schedulers()
    vae.eval().requires_grad_(False).to(device)
    unet.train().to(device)
    text_encoder.train().to(device)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-2)
    warmup = min(200, max(1, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * (0.5 + 0.5 * math.cos(math.pi * min(s, args.steps) / args.steps))
    )
    ema = [p.detach().clone() for p in params]
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    gen = torch.Generator(device).manual_seed(args.seed)
    scale = vae.config.scaling_factor
    alphas = noise_scheduler.alphas_cumprod.to(device)
    done = 0
    for step, (pixels, captions) in enumerate(
        _loader(PHASE_SEEDS["unet"] + args.seed, args.size, args.batch, args.steps, args.workers)
    ):
        pixels = pixels.to(device, non_blocking=True)
        drop = torch.rand(len(captions), generator=gen, device=device) < 0.1
        captions = ["" if d else c for c, d in zip(captions, drop.tolist())]
        ids = tokenizer(
            captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt"
        ).input_ids.to(device)
        with torch.no_grad(), autocast:
            latents = vae.encode(pixels).latent_dist.sample(generator=gen).float() * scale
        noise = torch.randn(latents.shape, generator=gen, device=device)
        steps_total = noise_scheduler.config.num_train_timesteps
        t = torch.randint(0, steps_total, (len(latents),), generator=gen, device=device)
        # Colour and layout are settled in the noisiest steps: a fine-tune may spend more of its batch there.
        high = torch.rand(len(latents), generator=gen, device=device) < args.high_noise_share
        t = torch.where(high, steps_total // 2 + t // 2, t)
        a = alphas[t].sqrt().view(-1, 1, 1, 1)
        s = (1 - alphas[t]).sqrt().view(-1, 1, 1, 1)
        noisy, target = a * latents + s * noise, a * noise - s * latents  # v-prediction
        with autocast:
            context = text_encoder(ids)[0]
            pred = unet(noisy, t, encoder_hidden_states=context).sample
        loss = torch.nn.functional.mse_loss(pred.float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema, [p.detach() for p in params], 1 - decay)
        done = step + 1
        _log_step(log, "unet", done, args.steps, loss=round(float(loss.detach()), 5), lr=sched.get_last_lr()[0])
        if time.time() > deadline or done == args.stop_at:
            break
    with torch.no_grad():
        for p, e in zip(params, ema):
            p.copy_(e)
    return done


def _load(folder: Path):
    """Tokenizer and components of a saved pipeline, in float32, to train further."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    vocab = json.loads((folder / "tokenizer" / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "tokenizer" / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]
    merges = [tuple(line.split()) for line in lines if line]
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=torch.float32)
    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=torch.float32)
    text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", dtype=torch.float32)
    return tokenizer, vocab, merges, vae, unet, text_encoder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="pipeline folder to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vae-steps", type=int, default=1700)
    parser.add_argument("--vae-batch", type=int, default=32)
    parser.add_argument("--vae-lr", type=float, default=5e-4)
    parser.add_argument(
        "--vae-size",
        type=int,
        default=256,
        help="side of the VAE phase's images (it is convolutional: 128 is a quarter of the work)",
    )
    parser.add_argument(
        "--decoder-steps",
        type=int,
        default=0,
        help="with --resume: fine-tune the VAE decoder this many steps first (encoder frozen)",
    )
    parser.add_argument(
        "--colour-weight",
        type=float,
        default=0.0,
        help="weight of a low-frequency (colour) term in the VAE and decoder losses: L1 on 16x-pooled images",
    )
    parser.add_argument(
        "--decoder-stop-at", type=int, default=None, help="end the decoder phase after this many of --decoder-steps"
    )
    parser.add_argument("--steps", type=int, default=2600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--ema", type=float, default=0.995)
    parser.add_argument(
        "--high-noise-share",
        type=float,
        default=0.0,
        help="share of each batch whose timesteps are drawn from the noisier half (where colour is decided)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--stop-at",
        type=int,
        default=None,
        help="end the UNet phase after this many of --steps (the schedule still spans --steps)",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="continue the UNet/text phase from this pipeline folder (VAE and tokenizer kept)",
    )
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="stop each phase early past this budget (safety net)"
    )
    args = parser.parse_args(argv)

    from diffusers import StableDiffusionPipeline
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    started = time.time()
    budget = args.max_minutes * 60 if args.max_minutes else float("inf")
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    log: list[dict] = []
    decoder_done = 0
    if args.resume:
        tokenizer, vocab, merges, vae, unet, text_encoder = _load(args.resume)
        vae_done, vae_seconds = 0, 0.0
        if args.decoder_steps:
            decoder_done = train_vae_decoder(vae, args, device, started + 0.95 * budget, log)
            vae_seconds = time.time() - started
    else:
        tokenizer, vocab, merges = build_tokenizer(PHASE_SEEDS["tokenizer"] + args.seed)
        vae, unet, text_encoder = build_components(vocab)
        vae_done = train_vae(vae, args, device, started + 0.2 * budget, log)
        vae_seconds = time.time() - started
        vae.register_to_config(scaling_factor=latent_scale(vae, args, device))
    unet_done = (
        train_unet(unet, text_encoder, tokenizer, vae, args, device, started + 0.95 * budget, log) if args.steps else 0
    )

    _, scheduler = _schedulers()
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        unet=unet.eval(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    pipe.to("cpu", torch.float16).save_pretrained(args.out, safe_serialization=True)
    # The classic tokenizer files too, as real checkpoints ship them.
    (args.out / "tokenizer" / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (args.out / "tokenizer" / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8"
    )
    summary = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "seed": args.seed,
        "resumed_from": str(args.resume) if args.resume else None,
        "vae_steps": vae_done,
        "vae_size": args.vae_size,
        "decoder_steps": decoder_done,
        "colour_weight": args.colour_weight,
        "vae_lr": args.vae_lr,
        "vae_batch": args.vae_batch,
        "unet_steps": unet_done,
        "high_noise_share": args.high_noise_share,
        "lr": args.lr,
        "batch": args.batch,
        "size": args.size,
        "seconds_vae": round(vae_seconds, 1),
        "seconds_total": round(time.time() - started, 1),
        "params": {
            name: sum(p.numel() for p in m.parameters())
            for name, m in (("vae", vae), ("unet", unet), ("text_encoder", text_encoder))
        },
        "log": log,
    }
    (args.out.parent / f"{args.out.name}.training.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "log"}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Records what PyTorch/diffusers and **Omost's own pipeline code** compute with the tiny random SDXL that
`omost dev tiny-sdxl` writes (tests/fixtures/tiny-sdxl/sdxl_reference.safetensors):

- `unet_*`: a UNet forward with SDXL's added conditions (pooled text + time_ids), diffusers' processors;
- `attn_*`: one cross-attention layer with Omost's `OmostCrossAttnProcessor` over three masked regions
  at a non-square 6x5 resolution;
- `vae_*`: a VAE decode (latents / scaling_factor) and an encode (distribution mode x scaling_factor);
- `run_*`: the README dragon, 4 steps of DPM++ 2M Karras at CFG 5 from recorded noise, with Omost's
  `KModel`, `sample_dpmpp_2m` and attention processors installed on the UNet exactly as
  `StableDiffusionXLOmostPipeline.__init__` installs them; conditions from Omost's bagging of the dragon
  (token ids in tests/fixtures/clip_tokens.json), masks from the dragon's rects; pooled = CLIP-G's
  projected text_embeds (our default) and a second run with Omost's unprojected pooler.

Usage: python3 scripts/oracle/make_sdxl_fixture.py OMOST_CHECKOUT [OMOST_BIN]
  (needs torch, diffusers, transformers, safetensors; CPU, float32; OMOST_BIN defaults to target/debug/omost)
"""
import builtins
import json
import pathlib
import subprocess
import sys
import tempfile
import typing

import torch
from safetensors.torch import save_file

for name in ("Optional", "Dict", "Any", "List", "Tuple", "Union", "Callable"):
    setattr(builtins, name, getattr(typing, name))
sys.path.insert(0, sys.argv[1])
from lib_omost.pipeline import (KModel, OmostCrossAttnProcessor, OmostSelfAttnProcessor,  # noqa: E402
                                sample_dpmpp_2m)
from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextModel, CLIPTextModelWithProjection  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = sys.argv[2] if len(sys.argv) > 2 else str(ROOT / "target/debug/omost")
OUT = ROOT / "tests/fixtures/tiny-sdxl/sdxl_reference.safetensors"
tiny = pathlib.Path(tempfile.mkdtemp())
subprocess.run([BIN, "dev", "tiny-sdxl", str(tiny)], check=True)
d = tiny / "diffusers"
torch.set_grad_enabled(False)
unet = UNet2DConditionModel.from_pretrained(d / "unet").eval()
vae = AutoencoderKL.from_pretrained(d / "vae").eval()
clip_l = CLIPTextModel.from_pretrained(d / "text_encoder").eval()
clip_g = CLIPTextModelWithProjection.from_pretrained(d / "text_encoder_2").eval()
torch.manual_seed(1234)
ref = {}

# 1. UNet forward, diffusers' own attention.
x = torch.randn(2, 4, 8, 8)
ctx = torch.randn(2, 77, 32)
text_embeds = torch.randn(2, 16)
time_ids = torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]] * 2)
ref |= {"unet_x": x, "unet_context": ctx, "unet_text_embeds": text_embeds,
        "unet_eps": unet(x, torch.tensor(500), ctx,
                         added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids}).sample}

# 2. One Omost cross-attention layer.
attn = unet.down_blocks[1].attentions[0].transformer_blocks[0].attn2
H, W = 6, 5
masks = torch.zeros(3, 90, 90)
masks[0] = 1
masks[1, 0:45, 0:60] = 1
masks[2, 30:90, 50:90] = 1
conds = [torch.randn(1, 77, 32), torch.randn(1, 154, 32), torch.randn(1, 77, 32)]
hidden = torch.randn(1, H * W, 32)
out = OmostCrossAttnProcessor()(attn, hidden, list(zip(masks, conds)), (1, 32, H, W))
ref |= {"attn_masks": masks, "attn_cond0": conds[0], "attn_cond1": conds[1], "attn_cond2": conds[2],
        "attn_hidden": hidden, "attn_out": out}

# 3. VAE.
latent = torch.randn(1, 4, 8, 8)
pixels = torch.rand(1, 3, 64, 64) * 2 - 1
sf = vae.config.scaling_factor
ref |= {"vae_latent": latent, "vae_decoded": vae.decode(latent / sf).sample,
        "vae_pixels": pixels, "vae_encoded": vae.encode(pixels).latent_dist.mode() * sf}

# 4. The dragon, Omost's way.
tokens = json.load(open(ROOT / "tests/fixtures/clip_tokens.json"))
negative_ids = next(t["ids"] for t in tokens["tokenized"]
                    if t["text"] == "lowres, bad anatomy, bad hands, cropped, worst quality")
conditions = json.loads(subprocess.run([BIN, "canvas", "inspect", "--json", str(ROOT / "examples/dragon.md")],
                                       check=True, capture_output=True, text=True).stdout)


def pad(chunk, pad_id):
    """`[BOS] + content + [EOS]` then `pad_id` (the fixture's chunks come padded with EOS, CLIP-L's pad)."""
    content = chunk[:chunk.index(49407) + 1]
    return (content + [pad_id] * 77)[:77]


def encode(chunks):
    ids_l = torch.tensor([pad(c, 49407) for c in chunks])
    ids_g = torch.tensor([pad(c, 0) for c in chunks])
    out_l = clip_l(ids_l, output_hidden_states=True)
    out_g = clip_g(ids_g, output_hidden_states=True)
    cond = torch.cat([out_l.hidden_states[-2], out_g.hidden_states[-2]], dim=-1).reshape(1, -1, 32)
    eos = (ids_g == 49407).int().argmax(dim=-1)
    unprojected = out_g.last_hidden_state[torch.arange(len(chunks)), eos]
    return cond, out_g.text_embeds[:1], unprojected[:1]


positive = []
for cond_json, chunks in zip(conditions, tokens["dragon_chunks_clip_l"]):
    top, bottom, left, right = cond_json["rect"]
    mask = torch.zeros(90, 90)
    mask[top:bottom, left:right] = 1
    positive.append((mask, encode(chunks)))
neg_cond, neg_projected, neg_unprojected = encode([[49406] + negative_ids[:75] + [49407]])

procs = {n: OmostCrossAttnProcessor() if n.endswith("attn2.processor") else OmostSelfAttnProcessor()
         for n in unet.attn_processors.keys()}
unet.set_attn_processor(procs)
kmodel = KModel(unet=unet)
steps = 4
sigmas = kmodel.get_sigmas_karras(int(steps / 1.0))[-(steps + 1):]
noise = torch.randn(1, 4, 8, 8)
ref["run_noise"] = noise
time_ids = torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]])
for name, pick in (("projected", 1), ("omost", 2)):
    extra = dict(
        cfg_scale=5.0,
        positive=dict(encoder_hidden_states=[(m, e[0]) for m, e in positive],
                      added_cond_kwargs={"text_embeds": positive[0][1][pick], "time_ids": time_ids},
                      cross_attention_kwargs={}),
        negative=dict(encoder_hidden_states=[(torch.ones(90, 90), neg_cond)],
                      added_cond_kwargs={"text_embeds": (neg_projected, neg_unprojected)[pick - 1],
                                         "time_ids": time_ids},
                      cross_attention_kwargs={}),
    )
    latents = sample_dpmpp_2m(kmodel, noise * sigmas[0], sigmas, extra_args=extra, disable=True)
    ref[f"run_{name}_latent"] = latents
ref["run_projected_pixels"] = vae.decode(ref["run_projected_latent"] / sf).sample

save_file({k: v.contiguous().float() for k, v in ref.items()}, OUT)
print("wrote", OUT, {k: tuple(v.shape) for k, v in ref.items()})

#!/usr/bin/env python3
"""PyTorch diffusers' side of scripts/bench-render: the same tiny SDXL UNet, inputs of the same shapes,
the same threads, timed the same way (median of N after one warm-up): plain attention (diffusers' SDPA
processor) over 77 and over 1771 tokens, and Omost's own processors over the dragon's five regions.

Usage: torch_unet_step.py TINY_DIFFUSERS_DIR OMOST_CHECKOUT CONDITIONS_JSON LATENT ITERS THREADS
Prints one JSON line of milliseconds per UNet call.
"""
import builtins
import json
import sys
import time
import typing

import torch

for name in ("Optional", "Dict", "Any", "List", "Tuple", "Union", "Callable"):
    setattr(builtins, name, getattr(typing, name))
folder, omost, conditions_json, latent, iters, threads = sys.argv[1:7]
latent, iters = int(latent), int(iters)
torch.set_num_threads(int(threads))
sys.path.insert(0, omost)
from lib_omost.pipeline import OmostCrossAttnProcessor, OmostSelfAttnProcessor  # noqa: E402
from diffusers import UNet2DConditionModel  # noqa: E402
from diffusers.models.attention_processor import AttnProcessor2_0  # noqa: E402

torch.set_grad_enabled(False)
unet = UNet2DConditionModel.from_pretrained(folder + "/unet").eval()
dim = unet.config.cross_attention_dim
chunks = [4, 5, 5, 5, 4]
conditions = json.load(open(conditions_json))
tokens = [torch.randn(1, 77 * n, dim) for n in chunks]
masks = []
for c in conditions:
    top, bottom, left, right = c["rect"]
    m = torch.zeros(90, 90)
    m[top:bottom, left:right] = 1
    masks.append(m)
x = torch.randn(1, 4, latent, latent)
px = latent * 8.0
added = {"text_embeds": torch.randn(1, 16), "time_ids": torch.tensor([[px, px, 0, 0, px, px]])}
t = torch.tensor(500)


def timed(context):
    unet(x, t, context, added_cond_kwargs=added, cross_attention_kwargs={})
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        unet(x, t, context, added_cond_kwargs=added, cross_attention_kwargs={})
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


out = {"latent": latent, "torch": torch.__version__}
unet.set_attn_processor(AttnProcessor2_0())
out["plain_77"] = timed(torch.randn(1, 77, dim))
out["plain_1771"] = timed(torch.cat(tokens, dim=1))
unet.set_attn_processor({n: OmostCrossAttnProcessor() if n.endswith("attn2.processor") else OmostSelfAttnProcessor()
                         for n in unet.attn_processors})
out["regional_1771"] = timed(list(zip(masks, tokens)))
print(json.dumps(out))

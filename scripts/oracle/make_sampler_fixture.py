#!/usr/bin/env python3
"""Runs the samplers on a fixed noise with an analytic denoiser, D(x, σ) = x·0.5/(σ²+1), and records the
results (tests/fixtures/sampler_reference.safetensors): DPM++ 2M with **Omost's own** `sample_dpmpp_2m`
and Karras σs from its `KModel` (loaded from an Omost checkout), Euler and DPM++ 2M SDE (midpoint, η=1,
with recorded per-step noise) as k-diffusion writes them.

Usage: python3 scripts/oracle/make_sampler_fixture.py OMOST_CHECKOUT   (needs torch, diffusers)
"""
import builtins
import pathlib
import sys
import typing

import torch
from safetensors.torch import save_file

# Omost's pipeline.py relies on a star import that newer diffusers no longer gives these names.
for name in ("Optional", "Dict", "Any", "List", "Tuple", "Union", "Callable"):
    setattr(builtins, name, getattr(typing, name))
sys.path.insert(0, sys.argv[1])
from lib_omost.pipeline import KModel, sample_dpmpp_2m  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/sampler_reference.safetensors"
torch.manual_seed(7)
kmodel = KModel(unet=None)
sigmas = kmodel.get_sigmas_karras(12)
noise = torch.randn(1, 4, 8, 8)
step_noise = torch.randn(len(sigmas) - 1, 1, 4, 8, 8)


def model(x, sigma, **_):
    return x * (0.5 / (sigma[:, None, None, None] ** 2 + 1))


x0 = noise * sigmas[0]
dpmpp_2m = sample_dpmpp_2m(model, x0.clone(), sigmas, disable=True)

x = x0.clone()
for i in range(len(sigmas) - 1):
    denoised = model(x, sigmas[i] * torch.ones(1))
    d = (x - denoised) / sigmas[i]
    x = x + d * (sigmas[i + 1] - sigmas[i])
euler = x

x = x0.clone()
old_denoised, h_last = None, None
for i in range(len(sigmas) - 1):
    denoised = model(x, sigmas[i] * torch.ones(1))
    if sigmas[i + 1] == 0:
        x = denoised
    else:
        t, s = -sigmas[i].log(), -sigmas[i + 1].log()
        h = s - t
        eta_h = 1.0 * h
        x = sigmas[i + 1] / sigmas[i] * (-eta_h).exp() * x + (-h - eta_h).expm1().neg() * denoised
        if old_denoised is not None:
            r = h_last / h
            x = x + 0.5 * (-h - eta_h).expm1().neg() * (1 / r) * (denoised - old_denoised)
        x = x + step_noise[i] * sigmas[i + 1] * (-2 * eta_h).expm1().neg().sqrt()
        h_last = h
    old_denoised = denoised
dpmpp_2m_sde = x

save_file({"sigmas": sigmas.contiguous(), "noise": noise, "step_noise": step_noise, "dpmpp_2m": dpmpp_2m,
           "euler": euler.contiguous(), "dpmpp_2m_sde": dpmpp_2m_sde.contiguous()}, OUT)
print("wrote", OUT)

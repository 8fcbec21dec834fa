#!/usr/bin/env python3
"""Records Omost's noise schedule as PyTorch computes it (tests/fixtures/karras_torch.json): the 1000
training sigmas and, for several (steps, strength) runs, the Karras sigmas and UNet timesteps.

Usage: python3 scripts/oracle/make_schedule_fixture.py > tests/fixtures/karras_torch.json  (needs torch, numpy)
The arithmetic is Omost's KModel (lib_omost/pipeline.py), written out here.
"""
import json
import sys

import numpy as np
import torch

betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
alphas_cumprod = torch.tensor(np.cumprod((1.0 - betas).numpy(), axis=0), dtype=torch.float32)
sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
log_sigmas = sigmas.log()


def karras(n, rho=7.0):
    ramp = torch.linspace(0, 1, n)
    min_inv_rho = sigmas[0] ** (1 / rho)
    max_inv_rho = sigmas[-1] ** (1 / rho)
    s = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
    return torch.cat([s, s.new_zeros([1])])


def timestep(sigma):
    dists = sigma.log() - log_sigmas[:, None]
    return dists.abs().argmin(dim=0).view(sigma.shape)


runs = []
for steps, strength in [(25, 1.0), (20, 0.4), (30, 1.0), (4, 1.0), (50, 1.0), (20, 0.99)]:
    s = karras(int(steps / strength))[-(steps + 1):]
    runs.append({
        "steps": steps,
        "strength": strength,
        "sigmas": [float(x) for x in s.tolist()],
        "timesteps": [int(t) for t in timestep(s[:-1]).tolist()],
    })
json.dump({
    "generator": "scripts/oracle/make_schedule_fixture.py",
    "torch": torch.__version__,
    "training_sigmas": [float(x) for x in sigmas.tolist()],
    "runs": runs,
}, sys.stdout)

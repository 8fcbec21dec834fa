"""Writes the noise files `tests/reproduce.rs` loads, with the tools users write them with: numpy's
`np.save` and the Python `safetensors` package. Values are exact in float32: ((i % 17) - 8) / 8 for
i = 0..256, shape [1, 4, 8, 8] (a 64×64 render).

    python scripts/oracle/make_noise_fixtures.py tests/fixtures/noise
"""
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
values = ((np.arange(256) % 17) - 8).astype(np.float32) / np.float32(8)
noise = values.reshape(1, 4, 8, 8)
np.save(out / "numpy.npy", noise)
# The file's only tensor, under another name than `noise`.
save_file({"latents": noise}, str(out / "python.safetensors"))
# A float64 array: a clear error, not a silent conversion.
np.save(out / "float64.npy", noise.astype(np.float64))

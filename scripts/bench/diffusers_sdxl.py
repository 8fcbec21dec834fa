#!/usr/bin/env python3
"""diffusers' side of scripts/gpu-bench: StableDiffusionXLPipeline on the same random-weight SDXL folder
(`omost dev random-sdxl`), with the sampler Omost uses (DPM++ 2M Karras), timed per image after a
warm-up, with its denoising rate and peak memory. The pipeline's defaults otherwise: SDPA attention, the
VAE upcast to fp32 for decoding (SDXL's VAE overflows fp16).

Usage: diffusers_sdxl.py MODEL_DIR --width W --height H --steps N --cfg C --tokens T [--repeats R]
                         [--device cuda|cpu] [--dtype fp16|bf16|fp32]
--tokens 77 is a plain SDXL prompt; more (a multiple of 77) repeats the prompt's embeddings to that
length, as long as the context Omost's regional prompts give. Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
import diffusers
from diffusers import DPMSolverMultistepScheduler, StableDiffusionXLPipeline

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--width", type=int, default=1024)
parser.add_argument("--height", type=int, default=1024)
parser.add_argument("--steps", type=int, default=25)
parser.add_argument("--cfg", type=float, default=5.0)
parser.add_argument("--tokens", type=int, default=77)
parser.add_argument("--repeats", type=int, default=2)
parser.add_argument("--device", default="cuda")
parser.add_argument("--dtype", default="fp16")
args = parser.parse_args()
assert args.tokens % 77 == 0, "--tokens is a multiple of 77"

dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
device = torch.device(args.device)
cuda = device.type == "cuda"
torch.set_grad_enabled(False)
diffusers.utils.logging.disable_progress_bar()

pipe = StableDiffusionXLPipeline.from_pretrained(args.model, torch_dtype=dtype)
pipe.scheduler = DPMSolverMultistepScheduler.from_config(
    pipe.scheduler.config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True
)
pipe.set_progress_bar_config(disable=True)
pipe.to(device)

prompt = "a dragon flying over a castle at dawn, detailed scales, dramatic light"
negative = "lowres, bad anatomy, bad hands, cropped, worst quality"
embeds = {}
if args.tokens > 77:
    k = args.tokens // 77
    pe, ne, pp, npool = pipe.encode_prompt(prompt=prompt, device=device, num_images_per_prompt=1,
                                           do_classifier_free_guidance=True, negative_prompt=negative)
    embeds = dict(
        prompt_embeds=pe.repeat(1, k, 1),
        negative_prompt_embeds=ne.repeat(1, k, 1),
        pooled_prompt_embeds=pp,
        negative_pooled_prompt_embeds=npool,
    )
else:
    embeds = dict(prompt=prompt, negative_prompt=negative)


def sync():
    if cuda:
        torch.cuda.synchronize()


def run(steps):
    marks = []

    def on_step(pipeline, step, timestep, kwargs):
        sync()
        marks.append(time.perf_counter())
        return kwargs

    generator = torch.Generator("cpu").manual_seed(12345)
    sync()
    start = time.perf_counter()
    image = pipe(width=args.width, height=args.height, num_inference_steps=steps,
                 guidance_scale=args.cfg, generator=generator, output_type="np",
                 callback_on_step_end=on_step, **embeds).images[0]
    sync()
    total = time.perf_counter() - start
    rate = (len(marks) - 1) / (marks[-1] - marks[0]) if len(marks) > 1 else float("nan")
    return total, rate, image


run(min(args.steps, 3))  # warm-up: kernels chosen, caches filled
if cuda:
    torch.cuda.reset_peak_memory_stats()
results = [run(args.steps) for _ in range(args.repeats)]
out = {
    "time_s": statistics.median(r[0] for r in results),
    "it_s": statistics.median(r[1] for r in results),
    "finite": bool(all(float(abs(r[2]).sum()) == float(abs(r[2]).sum()) for r in results)),
    "tokens": args.tokens,
    "torch": torch.__version__,
    "diffusers": diffusers.__version__,
    "attention": type(pipe.unet.attn_processors[next(iter(pipe.unet.attn_processors))]).__name__,
}
if cuda:
    out["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
    out["peak_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
    out["gpu"] = torch.cuda.get_device_name()
print(json.dumps(out))

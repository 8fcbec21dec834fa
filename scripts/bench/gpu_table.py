#!/usr/bin/env python3
"""scripts/gpu-bench's table: reads its results (one JSON object per line) and prints the figures and
the ratios against the references as Markdown.

Usage: gpu_table.py RESULTS.jsonl GPU.txt
"""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
gpu = open(sys.argv[2]).read().strip()
by = {}
for r in rows:
    by.setdefault(r["what"], []).append(r)


def find(what, name):
    return next((r for r in by.get(what, []) if r.get("name") == name), None)


print(f"GPU: {gpu}")
print()
print("| what | omost | reference | ratio | goal |")
print("|---|---|---|---|---|")
for ours_name, ref_name, label in (("plain", "plain", "SDXL image, plain prompt (77 tokens)"),
                                   ("regional", "plain", "SDXL image, 5 regions (ours) vs plain (diffusers)"),
                                   ("regional", "long", "SDXL image, 1771 tokens: 5 regions vs plain")):
    o, d = find("ours", ours_name), find("diffusers", ref_name)
    if o and d:
        print(f"| {label}: s per image | {o['time_s']:.2f} | {d['time_s']:.2f} (diffusers) "
              f"| {o['time_s'] / d['time_s']:.2f}× | ≤ 1.0× |")
        print(f"| {label}: it/s | {o['it_s']:.2f} | {d['it_s']:.2f} | {o['it_s'] / d['it_s']:.2f}× | |")
        if d.get("vram_mib"):
            print(f"| {label}: peak VRAM (nvidia-smi) | {o['vram_mib'] / 1024:.1f} GiB "
                  f"| {d['vram_mib'] / 1024:.1f} GiB | {o['vram_mib'] / d['vram_mib']:.2f}× | |")
o_plain, o_reg = find("ours", "plain"), find("ours", "regional")
if o_plain and o_reg:
    print(f"| regional over plain attention (ours, s per image) | {o_reg['time_s']:.2f} | {o_plain['time_s']:.2f} "
          f"| {o_reg['time_s'] / o_plain['time_s']:.2f}× | |")
for llm in by.get("llm", []):
    print(f"| LLM prompt, {llm['n_prompt']} tokens (tok/s) | {llm['ours_pp']:.0f} | {llm['bench_pp']:.0f} (llama-bench) "
          f"| {llm['ours_pp'] / llm['bench_pp']:.3f}× | ≥ 0.95× |")
    print(f"| LLM generation (tok/s) | {llm['ours_tg']:.1f} | {llm['bench_tg']:.1f} (llama-bench) "
          f"| {llm['ours_tg'] / llm['bench_tg']:.3f}× | ≥ 0.95× |")
    if llm.get("canvas_s"):
        print(f"| a {llm['canvas_tokens']}-token canvas, grammar on (s) | {llm['canvas_s']:.1f} "
              f"| | | ({llm['grammar_tg']:.1f} tok/s over {llm['grammar_tokens']} tokens) |")
for p in by.get("parity", []):
    print(f"| tiny SDXL on {p.get('device', '?')} in {p['dtype']} vs CPU f32 | PSNR {p['psnr_db']:.1f} dB, max |Δ| {p['max_abs']:.0f}/255 | | | |")

#!/usr/bin/env python3
"""Builds tiny random CLIP-L and CLIP-G text encoders in SDXL's diffusers layout and records what
transformers computes with them (tests/fixtures/tiny-sdxl/): the penultimate hidden states, the final
layer-norm EOS state (Omost's unprojected "pooled") and CLIP-G's projected text_embeds, for the README
dragon's chunks (tests/fixtures/clip_tokens.json).

Usage: python3 scripts/oracle/make_clip_fixture.py   (needs torch, transformers, safetensors; CPU)
Weights are stored as fp16 (the `fp16` variant files) to stay small; the references are computed in f32
from exactly those fp16 values.
"""
import json
import pathlib

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fixtures/tiny-sdxl"
torch.manual_seed(20240529)


def tiny(act, projection):
    cfg = CLIPTextConfig(vocab_size=49408, hidden_size=8, intermediate_size=16, num_hidden_layers=3,
                         num_attention_heads=2, max_position_embeddings=77, hidden_act=act, projection_dim=8,
                         bos_token_id=49406, eos_token_id=49407, pad_token_id=49407)
    model = (CLIPTextModelWithProjection if projection else CLIPTextModel)(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
            p.copy_(p.half().float())  # the values the fp16 files hold
    return model


def save(model, folder):
    d = OUT / folder
    d.mkdir(parents=True, exist_ok=True)
    model.config.to_json_file(d / "config.json")
    # The tensor names of SDXL's published text encoders (transformers 5's state_dict drops `text_model.`).
    def name(k):
        return k if k.startswith(("text_model.", "text_projection")) else "text_model." + k
    save_file({name(k): v.half().contiguous() for k, v in model.state_dict().items()}, d / "model.fp16.safetensors")


clip_l = tiny("quick_gelu", projection=False)
clip_g = tiny("gelu", projection=True)
save(clip_l, "text_encoder")
save(clip_g, "text_encoder_2")

chunks = [c for cond in json.load(open(ROOT / "tests/fixtures/clip_tokens.json"))["dragon_chunks_clip_l"] for c in cond]
ids_l = torch.tensor(chunks, dtype=torch.int64)
# CLIP-G's tokenizer pads with id 0 ("!") instead of EOS.
ids_g = ids_l.clone()
for row in ids_g:
    eos = (row == 49407).nonzero()[0].item()
    row[eos + 1:] = 0

with torch.no_grad():
    out_l = clip_l(ids_l, output_hidden_states=True)
    out_g = clip_g(ids_g, output_hidden_states=True)
    # CLIPTextModelWithProjection exposes the final-LN states; the pooled EOS state is taken by position.
    eos_g = (ids_g == 49407).int().argmax(dim=-1)
    pooled_g = out_g.last_hidden_state[torch.arange(ids_g.shape[0]), eos_g]
save_file({
    "ids_l": ids_l, "ids_g": ids_g,
    "penultimate_l": out_l.hidden_states[-2].contiguous(),
    "penultimate_g": out_g.hidden_states[-2].contiguous(),
    "pooled_l": out_l.pooler_output.contiguous(),
    "pooled_g": pooled_g.contiguous(),
    "text_embeds_g": out_g.text_embeds.contiguous(),
}, OUT / "clip_reference.safetensors")
print("wrote", OUT)

#!/usr/bin/env python3
"""Records how `transformers`' CLIPTokenizer tokenizes prompt text, and how Omost's
`encode_bag_of_subprompts_greedy` packs the README dragon's conditions into 77-token chunks
(tests/fixtures/clip_tokens.json).

Usage: python3 scripts/oracle/make_clip_tokenizer_fixture.py > tests/fixtures/clip_tokens.json
Needs transformers==4.41.1 (Omost's pin) and no ftfy: its slow CLIPTokenizer then cleans text with
BasicTokenizer (drops format characters, spaces out CJK), which transformers 5's tokenizers-backed
CLIPTokenizer no longer does. The tokenizer's vocab.json/merges.txt are derived from the BPE file the app ships
(assets/bpe_simple_vocab_16e6.txt.gz) exactly as OpenAI's CLIP vocabulary is; the bagging follows Omost's
lib_omost/pipeline.py, written out here.
"""
import gzip
import json
import pathlib
import sys
import tempfile

import transformers
from transformers import CLIPTokenizer

assert transformers.__version__ == "4.41.1", "Omost pins transformers 4.41.1"

ROOT = pathlib.Path(__file__).resolve().parents[2]
lines = gzip.open(ROOT / "assets/bpe_simple_vocab_16e6.txt.gz").read().decode("utf-8").split("\n")
merges = lines[1:49152 - 256 - 2 + 1]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


vocab = list(bytes_to_unicode().values())
vocab = vocab + [v + "</w>" for v in vocab]
vocab += ["".join(m.split()) for m in merges]
vocab += ["<|startoftext|>", "<|endoftext|>"]
tmp = pathlib.Path(tempfile.mkdtemp())
(tmp / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
(tmp / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
tok = CLIPTokenizer(str(tmp / "vocab.json"), str(tmp / "merges.txt"), pad_token="<|endoftext|>")

texts = [
    "東京の夜景 and 北京",
    "A fierce battle between warriors and a dragon.",
    "lowres, bad anatomy, bad hands, cropped, worst quality",
    "The dragon’s eyes burn with a fierce intensity, and its teeth are sharp and menacing.",
    "It's 1024x768 -- DON'T you'll we've I'd I'm they're!!!",
    "  multiple   spaces\tand\ttabs\nand\nnewlines  ",
    "Café crème brûlée, naïve façade, Ångström",
    "emoji 🐉🔥 and symbols ©®™ ±×÷ §¶",
    "tags: red, green,blue;yellow/orange (purple) [cyan] {magenta} <b>bold</b>",
    "an <|endoftext|> inside text",
    "UPPER lower MiXeD",
    "12345 3.14159 1,000,000",
    "zero\u200bwidth soft\u00adhyphen",
    "",
    ".",
    "a" * 300,
]
tokenized = [{"text": t, "ids": tok(t, add_special_tokens=False).input_ids} for t in texts]

# Omost's greedy bags for the README dragon (prefixes/suffixes from the oracle vectors).
vectors = json.load(open(ROOT.parent / "shared/reference/omost_test_vectors.json"))
chunks = []
for cond in vectors["readme_dragon_bag_of_conditions"]:
    prefix_ids = []
    for p in cond["prefixes"]:
        prefix_ids += tok(p, truncation=False, add_special_tokens=False).input_ids
    items = [tok(s, truncation=False, add_special_tokens=False).input_ids[:75] for s in cond["suffixes"]]
    max_sum = 75 - len(prefix_ids)
    bags, bag, total = [], [], 0
    for ids in items:
        if total + len(ids) > max_sum:
            if bag:
                bags.append(bag)
            bag, total = [ids], len(ids)
        else:
            bag.append(ids)
            total += len(ids)
    if bag:
        bags.append(bag)
    cond_chunks = []
    for b in bags:
        merged = prefix_ids + [i for ids in b for i in ids]
        cond_chunks.append(([49406] + merged[:75] + [49407] + [49407] * 75)[:77])
    chunks.append(cond_chunks)

json.dump({"generator": "scripts/oracle/make_clip_tokenizer_fixture.py", "transformers": transformers.__version__,
           "tokenizer": type(tok).__name__, "tokenized": tokenized,
           "dragon_chunks_clip_l": chunks}, sys.stdout, ensure_ascii=False)

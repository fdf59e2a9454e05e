#!/usr/bin/env python3
"""Writes the expected token ids of Tests/Fixtures/tokenizer/corpus.jsonl, as Hugging Face computes them.

For Qwen3 and Llama-3.2 (tokenizer.json files fetched by scripts/fetch-assets.sh) the oracle is the
`tokenizers` library; for SmolLM2 the tokenizer is the one `transformers` builds from the GGUF file.
Each output file holds, per corpus line: ids with and without special tokens, and the text that
`tokenizers` decodes from the ids without special tokens (skip_special_tokens=False).

Usage: python3 scripts/make_tokenizer_reference.py   (run from anywhere; needs tokenizers, transformers, gguf)
"""
import json
import os
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.environ.get("SLIDEFORMER_ASSETS", os.path.join(ROOT, ".cache", "assets"))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer")


def corpus():
    with open(os.path.join(FIXTURES, "corpus.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def expected(tokenizer, texts):
    with_special = [tokenizer.encode(t, add_special_tokens=True).ids for t in texts]
    without_special = [tokenizer.encode(t, add_special_tokens=False).ids for t in texts]
    decoded = [tokenizer.decode(ids, skip_special_tokens=False) for ids in without_special]
    return {"with_special_tokens": with_special, "without_special_tokens": without_special, "decoded": decoded}


def write(name, data):
    path = os.path.join(FIXTURES, name)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, path)
    print("wrote", path)


def main():
    from tokenizers import Tokenizer

    texts = corpus()
    for model in ["qwen3", "llama3.2"]:
        tokenizer = Tokenizer.from_file(os.path.join(ASSETS, model, "tokenizer.json"))
        write(f"{model}_expected.json", expected(tokenizer, texts))

    # SmolLM2: the tokenizer transformers derives from the GGUF metadata, saved as tokenizer.json and
    # read back with `tokenizers`, so that ids and decoding come from the same library as above.
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(os.path.join(ASSETS, "smollm2"), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    with tempfile.TemporaryDirectory() as tmp:
        hf.save_pretrained(tmp)
        tokenizer = Tokenizer.from_file(os.path.join(tmp, "tokenizer.json"))
    data = expected(tokenizer, texts)
    # transformers' own call must agree with the saved tokenizer.json.
    assert data["with_special_tokens"] == [hf(t, add_special_tokens=True).input_ids for t in texts]
    assert data["without_special_tokens"] == [hf(t, add_special_tokens=False).input_ids for t in texts]
    write("smollm2_expected.json", data)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the expected token ids of Tests/Fixtures/tokenizer/corpus.jsonl, as Hugging Face computes them.

For Qwen3 and Llama-3.2 (tokenizer.json files fetched by scripts/fetch-assets.sh) the oracle is the
`tokenizers` library; for SmolLM2 the tokenizer is the one `transformers` builds from the GGUF file.
Each output file holds, per corpus line: ids with and without special tokens, and the text that
`tokenizers` decodes from the ids without special tokens (skip_special_tokens=False); for the
tokenizer.json files also the vocabulary size, the BOS/EOS/PAD ids named by tokenizer_config.json and
a sample of id -> token. regex_expected.json holds the matches that `tokenizers` (Oniguruma) finds
for a set of patterns and texts.

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


def special_token_ids(tokenizer, config_path):
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    ids = {}
    for key in ["bos_token", "eos_token", "pad_token"]:
        value = config.get(key)
        if isinstance(value, dict):
            value = value["content"]
        ids[key] = None if value is None else tokenizer.token_to_id(value)
    return ids


def token_sample(tokenizer):
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    ids = sorted(set(list(range(0, 300)) + list(range(0, size, size // 97)) + list(range(size - 40, size + 3))))
    return [[i, tokenizer.id_to_token(i)] for i in ids]


# Patterns of tokenizer.json files plus small ones that exercise one feature each.
PATTERNS = [
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    r"a|ab|abc", r"abc|ab|a", r"(?:ab)+c?", r"x{2,3}", r"x{2}", r"x{2,}", r"x+?y", r"x*?", r"[^a-c]+", r"[a-c\-]+",
    r"\s+(?!\S)", r"\s+(?=\S)", r"\p{N}+", r"\P{L}+", r"[\p{L}\p{M}]+", r"\p{Lu}\p{Ll}*", r".+", r"\d+",
    r"\w+", r"\W+", r"(?i:hello|world)", r"(?i)st", r"[\r\n]+", r"\{\}|\(|\)|\.|\$", r"\x41\u0042", r"",
]
REGEX_TEXTS = [
    "Hello world, it's 2024! ABC abc aBc xxxxx xy xxy",
    "  leading and trailing  \n\n\tmixed\r\n whitespace   ",
    "I'M HE'S they'LL 'S 'ſ 'K 'K Straße STREET",
    "你好世界 мир ñe\u0301 😀👍🏽 ①②③ ٣٤ 12345678",
    "{()} $.$ a-b-c abcabc ababc x\u00a0y\u2003z",
]


def regex_expected():
    from tokenizers import Regex, pre_tokenizers

    cases = []
    for pattern in PATTERNS:
        # Removed + invert keeps exactly the matches (the text between them is dropped).
        split = pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True)
        for text in REGEX_TEXTS:
            matches = [list(offsets) for _, offsets in split.pre_tokenize_str(text)]
            cases.append({"pattern": pattern, "text": text, "matches": matches})
    return cases


# Changes to the Qwen3 tokenizer.json (key path -> new value) that exercise components the shipped
# files do not use: split behaviors, Digits, prefix spaces, added-token flags, templates, ignore_merges.
def split_then_byte_level(behavior, invert=False, prefix=True):
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\s+|[0-9]"}, "behavior": behavior, "invert": invert},
        {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": True, "use_regex": True}]}


EXTRA_ADDED = [
    {"id": 151669, "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False, "special": True},
    {"id": 151670, "content": "[END]", "single_word": False, "lstrip": False, "rstrip": True, "normalized": False, "special": True},
    {"id": 151671, "content": "hello", "single_word": True, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
    {"id": 151672, "content": "cafe\u0301", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
    {"id": 151673, "content": "<b>", "single_word": True, "lstrip": True, "rstrip": True, "normalized": False, "special": False},
]

VARIANTS = {
    "split_removed": [["pre_tokenizer", split_then_byte_level("Removed")]],
    "split_merged_with_previous": [["pre_tokenizer", split_then_byte_level("MergedWithPrevious")]],
    "split_merged_with_next": [["pre_tokenizer", split_then_byte_level("MergedWithNext")]],
    "split_contiguous_inverted": [["pre_tokenizer", split_then_byte_level("Contiguous", invert=True)]],
    "split_string_isolated": [["pre_tokenizer", {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "o"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}]}]],
    "digits_individual": [["pre_tokenizer", {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": False}]}]],
    "digits_contiguous_byte_level_only": [["pre_tokenizer", {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}]}],
        ["normalizer", {"type": "Sequence", "normalizers": [{"type": "NFC"}]}]],
    "added_token_flags": [["added_tokens", None]],  # filled in below: the file's added tokens + EXTRA_ADDED
    "template_bos_eos": [["post_processor", {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "<|im_end|>", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "ids": [151644], "tokens": ["<|im_start|>"]},
                           "<|im_end|>": {"id": "<|im_end|>", "ids": [151645], "tokens": ["<|im_end|>"]}}}]],
    "roberta": [["post_processor", {"type": "RobertaProcessing", "sep": ["<|im_end|>", 151645],
        "cls": ["<|im_start|>", 151644], "trim_offsets": True, "add_prefix_space": False}]],
    "ignore_merges": [["model.ignore_merges", True]],
}

VARIANT_TEXTS = [
    "x <mask> y  <mask>z<mask>", "[END]   next [END]\n\tline", "hello world, sayhello hello_ hello! HELLO hello",
    "Cafe\u0301 cafe\u0301 café caf\u00e9s", "a <b> b<b>c  <b>  d", "12 apples and 345 pears, 6789!",
]


def variants(texts):
    with open(os.path.join(ASSETS, "qwen3", "tokenizer.json"), encoding="utf-8") as f:
        base = json.load(f)
    out = []
    for name, patch in VARIANTS.items():
        if name == "added_token_flags":
            patch = [["added_tokens", base["added_tokens"] + EXTRA_ADDED]]
        config = json.loads(json.dumps(base))
        for key_path, value in patch:
            *parents, last = key_path.split(".")
            target = config
            for key in parents:
                target = target[key]
            target[last] = value
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(json.dumps(config))
        out.append({"name": name, "patch": patch, **expected(tokenizer, texts)})
    return out


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
        data = expected(tokenizer, texts)
        data["vocabulary_size"] = tokenizer.get_vocab_size(with_added_tokens=True)
        data["special_token_ids"] = special_token_ids(tokenizer, os.path.join(ASSETS, model, "tokenizer_config.json"))
        data["tokens"] = token_sample(tokenizer)
        write(f"{model}_expected.json", data)
    write("regex_expected.json", regex_expected())
    variant_texts = texts[::4] + VARIANT_TEXTS
    write("qwen3_variants_expected.json", {"texts": variant_texts, "variants": variants(variant_texts)})

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

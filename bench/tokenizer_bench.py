#!/usr/bin/env python3
"""Times `slideformer tokenize` against Hugging Face `tokenizers` on the same generated corpus.

Builds the release binary, writes a corpus of about --megabytes MB (.cache/tokenizer_bench/corpus.jsonl,
varied copies of Tests/Fixtures/tokenizer/corpus.jsonl plus generated prose, code and numbers), then
reports tokens/s for: slideformer tokenize (one thread), tokenizers encode (one call per text, one
thread) and tokenizers encode_batch (all threads), by wall-clock time and by CPU time (on a busy
machine the CPU figure is the fairer one). It also checks that the ids are identical.

Usage: python3 bench/tokenizer_bench.py [--tokenizer .cache/assets/qwen3] [--megabytes 20]
"""
import argparse
import json
import os
import random
import resource
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_corpus(path, megabytes):
    random.seed(0)
    with open(os.path.join(ROOT, "Tests", "Fixtures", "tokenizer", "corpus.jsonl"), encoding="utf-8") as f:
        seeds = [json.loads(line)["text"] for line in f]
    words = " ".join(t for t in seeds if t.isascii()).split()
    target = megabytes << 20
    size = 0
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        while size < target:
            kind = random.random()
            if kind < 0.3:
                text = "\n".join(random.sample(seeds, 8))
            elif kind < 0.9:
                text = " ".join(random.choice(words) for _ in range(random.randint(50, 400)))
            else:
                text = " ".join(str(random.randint(0, 10 ** random.randint(1, 12))) for _ in range(100))
            line = json.dumps({"text": text}, ensure_ascii=False) + "\n"
            out.write(line)
            size += len(line.encode("utf-8"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokenizer", default=os.path.join(ROOT, ".cache", "assets", "qwen3"))
    parser.add_argument("--megabytes", type=int, default=20)
    args = parser.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "slideformer"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, ".build", "release", "slideformer")
    corpus = os.path.join(ROOT, ".cache", "tokenizer_bench", "corpus.jsonl")
    if not os.path.exists(corpus) or os.path.getsize(corpus) < args.megabytes << 20:
        make_corpus(corpus, args.megabytes)
    with open(corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    megabytes = os.path.getsize(corpus) / (1 << 20)
    print(f"corpus: {len(texts)} texts, {megabytes:.1f} MB")

    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([binary, "tokenize", "--tokenizer", args.tokenizer, "--input", corpus],
                            check=True, capture_output=True, text=True)
    swift_seconds = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    swift_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    swift_ids = [json.loads(line) for line in result.stdout.splitlines()]

    from tokenizers import Tokenizer

    tokenizer_file = args.tokenizer if args.tokenizer.endswith(".json") else os.path.join(args.tokenizer, "tokenizer.json")
    tokenizer = Tokenizer.from_file(tokenizer_file)
    start, cpu = time.perf_counter(), time.process_time()
    single = [tokenizer.encode(t).ids for t in texts]
    single_seconds, single_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    batch = [e.ids for e in tokenizer.encode_batch(texts)]
    batch_seconds, batch_cpu = time.perf_counter() - start, time.process_time() - cpu

    tokens = sum(len(ids) for ids in single)
    assert batch == single, "encode_batch and encode disagree"
    mismatches = sum(a != b for a, b in zip(swift_ids, single)) + abs(len(swift_ids) - len(single))
    print(f"tokens: {tokens}; texts whose ids differ from tokenizers: {mismatches}")
    for name, seconds, cpu in [
        ("slideformer tokenize (1 thread, incl. load + JSON output)", swift_seconds, swift_cpu),
        ("tokenizers encode (1 thread)", single_seconds, single_cpu),
        (f"tokenizers encode_batch ({os.cpu_count()} threads)", batch_seconds, batch_cpu),
    ]:
        print(f"{name}: wall {seconds:.2f} s = {tokens / seconds / 1e6:.2f} M tokens/s; "
              f"CPU {cpu:.2f} s = {tokens / cpu / 1e6:.2f} M tokens/s per core-second")


if __name__ == "__main__":
    main()

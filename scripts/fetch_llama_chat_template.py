#!/usr/bin/env python3
"""Writes the Llama 3.2 chat template to <assets>/llama3.2/chat_template.jinja.

The fetched Llama 3.2 tokenizer_config.json carries no chat template, so the template is taken
from a pinned PyPI wheel that ships Meta's text verbatim (guidance==0.3.1, guidance/chat.py,
`llama3dot2_template`); both the wheel and the template are checked against sha256 sums.
Assets root: $SLIDEFORMER_ASSETS or .cache/assets. Idempotent.
Usage: python3 scripts/fetch_llama_chat_template.py   (after scripts/fetch-assets.sh)
"""
import ast
import hashlib
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "guidance==0.3.1"
WHEEL_SHA256 = "6d69dee7fb9ca3d5d50928571a5a34a6fb4de92d454c6dcfccd805501ee6987f"
TEMPLATE_SHA256 = "5816fce10444e03c2e9ee1ef8a4a1ea61ae7e69e438613f3b17b69d0426223a4"

root = pathlib.Path(__file__).resolve().parent.parent
assets = pathlib.Path(os.environ.get("SLIDEFORMER_ASSETS", root / ".cache" / "assets"))
target = assets / "llama3.2" / "chat_template.jinja"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


if target.exists() and sha256(target.read_bytes()) == TEMPLATE_SHA256:
    sys.exit(0)
wheels = root / ".cache" / "wheels"
wheels.mkdir(parents=True, exist_ok=True)
found = sorted(wheels.glob("guidance-0.3.1-*.whl"))
if not found or sha256(found[0].read_bytes()) != WHEEL_SHA256:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", str(wheels), WHEEL], check=True)
    found = sorted(wheels.glob("guidance-0.3.1-*.whl"))
wheel = found[0].read_bytes()
if sha256(wheel) != WHEEL_SHA256:
    sys.exit(f"fetch_llama_chat_template: checksum mismatch for {found[0]}")
module = ast.parse(zipfile.ZipFile(found[0]).read("guidance/chat.py").decode("utf-8"))
texts = [ast.literal_eval(node.value) for node in module.body
         if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "llama3dot2_template"]
if len(texts) != 1 or sha256(texts[0].encode("utf-8")) != TEMPLATE_SHA256:
    sys.exit("fetch_llama_chat_template: the template in the wheel is not the expected one")
target.parent.mkdir(parents=True, exist_ok=True)
with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False) as f:
    f.write(texts[0].encode("utf-8"))
os.replace(f.name, target)
print(f"fetch_llama_chat_template: {target}")

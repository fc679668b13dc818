#!/usr/bin/env python3
"""Builds the Run Command artifacts from the static binary.

    python3 packaging/runcommand/build.py BINARY VERSION OUT_DIR

OUT_DIR/xz/ and OUT_DIR/gzip/: part-NN-of-NN.sh and final.sh for action Run Command
(each script at most 256 KiB once base64-encoded, as Azure measures it); xz is smaller,
gzip is there for a VM without xz (sshdoctor-az switches by itself).
OUT_DIR/sshdoctor-managed.sh: one self-contained script for managed Run Command.
OUT_DIR/sshdoctor-az: the workstation helper.
"""

import base64
import hashlib
import math
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Azure's limit on a Run Command script, measured on its base64 form.
SCRIPT_LIMIT_BASE64 = 256 * 1024
SCRIPT_LIMIT = SCRIPT_LIMIT_BASE64 // 4 * 3
# 768 raw bytes make one 1,024-character base64 line. Long lines waste less of a part on
# newlines than base64's usual 76 (a newline each 1,024 characters, not each 76): about
# 1.2% more of the binary in each part. base64 -d (coreutils, busybox) reads any length.
LINE_BYTES = 768
LINE_CHARS = LINE_BYTES // 3 * 4

# The dictionary stays small so a VM short of memory can still unpack (xz -9 would want
# 64 MiB); the x86 filter helps on machine code.
COMPRESSORS = {
    "xz": ["xz", "-c", "--format=xz", "--check=crc64", "--x86", "--lzma2=preset=9e,dict=4MiB"],
    "gzip": ["gzip", "-c", "-9", "-n"],
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def base64_lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + LINE_CHARS] for i in range(0, len(encoded), LINE_CHARS))


def fill(template: str, values: dict) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", str(value))
    if "@" in "".join(line for line in template.splitlines() if line.startswith("@")):
        raise SystemExit(f"unfilled placeholder in:\n{template[:400]}")
    return template


def base64_size(script: str) -> int:
    return 4 * math.ceil(len(script.encode()) / 3)


def write_script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def build_parts(payload: bytes, compression: str, out: Path) -> int:
    stage_lib = (HERE / "stage.sh").read_text().rstrip("\n")
    part_template = (HERE / "part.sh").read_text()
    common = {
        "COMPRESSION": compression,
        "PAYLOAD_SHA256": sha256(payload),
        "PAYLOAD_SHORT": sha256(payload)[:12],
        "STAGE_LIB": stage_lib,
    }
    # The largest chunk (whole base64 lines) whose part script still fits the limit.
    empty = fill(part_template, {**common, "PART": 99, "PARTS": 99, "PART_SHA256": "0" * 64, "CHUNK": ""})
    room = SCRIPT_LIMIT - len(empty.encode()) - 64
    chunk_size = room // (LINE_CHARS + 1) * LINE_BYTES
    chunks = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)]
    out.mkdir(parents=True)
    for number, chunk in enumerate(chunks, start=1):
        script = fill(
            part_template,
            {
                **common,
                "PART": number,
                "PARTS": len(chunks),
                "PART_SHA256": sha256(chunk),
                "CHUNK": base64_lines(chunk),
            },
        )
        if base64_size(script) > SCRIPT_LIMIT_BASE64:
            raise SystemExit(f"part {number} is {base64_size(script)} bytes as base64")
        write_script(out / f"part-{number:02d}-of-{len(chunks):02d}.sh", script)
    final = fill(
        (HERE / "final.sh").read_text(),
        {
            **common,
            "PARTS": len(chunks),
            "PART_SHA256S": " ".join(sha256(chunk) for chunk in chunks),
            "UNPACKER": compression,
        },
    )
    write_script(out / "final.sh", final)
    return len(chunks)


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    binary, version, out = Path(sys.argv[1]).read_bytes(), sys.argv[2], Path(sys.argv[3])
    if out.exists():
        shutil.rmtree(out)
    payloads = {
        name: subprocess.run(command, input=binary, capture_output=True, check=True).stdout
        for name, command in COMPRESSORS.items()
    }
    for name, payload in payloads.items():
        parts = build_parts(payload, name, out / name)
        print(f"runcommand: {name} payload {len(payload)} bytes in {parts} parts")
    managed = fill(
        (HERE / "managed.sh").read_text(),
        {
            "VERSION": version,
            "PAYLOAD_SHA256": sha256(payloads["gzip"]),
            "PAYLOAD": base64_lines(payloads["gzip"]),
        },
    )
    write_script(out / "sshdoctor-managed.sh", managed)
    shutil.copy(HERE / "sshdoctor-az", out / "sshdoctor-az")
    (out / "sshdoctor-az").chmod(0o755)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Read (and write) safetensors files with torch and the standard library alone: no
`safetensors` or numpy package needed.

    from safetensors_torch import load_file, save_file
    tensors = load_file("ckpt.safetensors")           # {name: torch.Tensor}
    meta = load_metadata("ckpt.safetensors")          # {key: value} from "__metadata__"

    python3 tools/safetensors_torch.py FILE            # names, dtypes, shapes, metadata

Layout: 8-byte little-endian header size N, N bytes of JSON
{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data.
"""
import ctypes
import json
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U8": 1, "BOOL": 1}
NAMES = {v: k for k, v in DTYPES.items()}


def _read_header(f, path):
    raw = f.read(8)
    if len(raw) != 8:
        raise ValueError(f"{path}: truncated (no header size)")
    (n,) = struct.unpack("<Q", raw)
    text = f.read(n)
    if len(text) != n:
        raise ValueError(f"{path}: header size {n} beyond the file")
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: bad JSON header: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    return header


def load_metadata(path):
    with open(path, "rb") as f:
        return dict(_read_header(f, path).get("__metadata__", {}))


def load_file(path):
    """Returns {name: tensor}; each tensor owns its memory (no view into the file)."""
    with open(path, "rb") as f:
        header = _read_header(f, path)
        data = f.read()
    if sys.byteorder != "little":
        raise ValueError("safetensors data is little-endian; this host is not")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has dtype {dtype}, unsupported by torch here")
        shape = [int(d) for d in info["shape"]]
        begin, end = (int(o) for o in info["data_offsets"])
        count = 1
        for d in shape:
            count *= d
        if not 0 <= begin <= end <= len(data) or end - begin != count * SIZES[dtype]:
            raise ValueError(f"{path}: tensor '{name}' data_offsets {begin}..{end} do not fit "
                             f"shape {shape} x {dtype} in {len(data)} data bytes")
        if count == 0:
            out[name] = torch.empty(shape, dtype=DTYPES[dtype])
        else:
            buf = bytearray(data[begin:end])  # a fresh, aligned copy
            out[name] = torch.frombuffer(buf, dtype=DTYPES[dtype]).reshape(shape)
    return out


def save_file(tensors, path, metadata=None):
    """Writes {name: tensor} in the reference layout (dtype widest first, then name)."""
    rank = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32",
            "F32", "F64", "I64", "U64"]
    items = sorted(tensors.items(), key=lambda kv: (-rank.index(NAMES[kv[1].dtype]), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in items:
        t = t.detach().contiguous().cpu()
        blob = ctypes.string_at(t.data_ptr(), t.numel() * t.element_size()) if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main(argv):
    if len(argv) != 2:
        print("usage: safetensors_torch.py FILE", file=sys.stderr)
        return 2
    try:
        tensors = load_file(argv[1])
        meta = load_metadata(argv[1])
    except (OSError, ValueError) as e:
        print(f"safetensors_torch: {e}", file=sys.stderr)
        return 1
    for key, value in meta.items():
        print(f"meta {key} = {value}")
    for name, t in tensors.items():
        print(f"{name}\t{NAMES[t.dtype]}\t{list(t.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

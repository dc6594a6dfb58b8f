#!/usr/bin/env python3
"""Loads a checkpoint written by `repro train --save` into the PyTorch definition of its model
(bench/models.py) with load_state_dict(strict=True) and computes the test accuracy and mean
loss on the same data, for comparison with `repro eval`, in full fp32 as repro computes
(bench/precision.py: not PyTorch's default TF32 convolutions on NVIDIA GPUs).

    python3 tools/check_checkpoint.py CKPT --data DIR [--dataset NAME] [--device cpu|cuda]
"""
import argparse
import gzip
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "bench"))
sys.path.insert(0, here)
import models  # noqa: E402
import precision  # noqa: E402
import safetensors_torch  # noqa: E402


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise FileNotFoundError(f"{stem}[.gz] not in {directory}")


def read_cifar(paths, dataset):
    """CIFAR binary files as float images in [0, 1] and labels: a label byte per image for
    CIFAR-10, a coarse and a fine one (the class) for CIFAR-100, then 3,072 pixel bytes."""
    record = 3074 if dataset == "cifar100" else 3073
    raws = []
    for path in paths:
        with open(path, "rb") as f:
            raws.append(torch.frombuffer(bytearray(f.read()), dtype=torch.uint8))
    raw = torch.cat(raws).reshape(-1, record)
    y = raw[:, record - 3073].long()
    return raw[:, record - 3072:].reshape(-1, 3, 32, 32).float() / 255, y


def test_set(dataset, directory):
    if dataset in ("mnist", "fashion-mnist"):
        x = read_idx(find(directory, "t10k-images-idx3-ubyte")).unsqueeze(1)
        y = read_idx(find(directory, "t10k-labels-idx1-ubyte")).long()
        return x.float() / 255, y
    name = "test_batch.bin" if dataset == "cifar10" else "test.bin"
    return read_cifar([os.path.join(directory, name)], dataset)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("--data", required=True, help="directory with the dataset's test files")
    p.add_argument("--dataset")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=500)
    a = p.parse_args()
    math = precision.set_fp32_math(strict=True)
    tensors = safetensors_torch.load_file(a.checkpoint)
    meta = safetensors_torch.load_metadata(a.checkpoint)
    dataset = a.dataset or meta.get("dataset")
    mean, std = models.MEAN_STD[dataset]
    classes = 100 if dataset == "cifar100" else 10
    model = models.build(meta["model"], mean, std, classes, len(mean))
    model.load_state_dict(tensors, strict=True)
    model = model.to(a.device).eval()
    x, y = test_set(dataset, a.data)
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(y), a.batch):
            logits = model(x[i:i + a.batch].to(a.device))
            target = y[i:i + a.batch].to(a.device)
            correct += (logits.argmax(1) == target).sum().item()
            loss += F.cross_entropy(logits, target, reduction="sum").item()
    out = {"checkpoint": a.checkpoint, "model": meta["model"], "dataset": dataset,
           "test_accuracy": correct / len(y), "test_loss_ce": loss / len(y),
           "torch_version": torch.__version__, "fp32_math": math}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

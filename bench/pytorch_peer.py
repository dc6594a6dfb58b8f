#!/usr/bin/env python3
"""The PyTorch peer of `repro bench`'s training-step benchmark.

Runs the same networks (bench/models.py) on the same synthetic batch (CIFAR-shaped, 1x28x28 for
mnist_cnn) with the same step — forward, cross-entropy, backward, SGD with momentum 0.9 and
weight decay 5e-4 — and prints the same JSON as `repro bench --json`, so the two can be
compared side by side on one machine:

    python3 bench/pytorch_peer.py --device cpu --json peer.json train_resnet20
    repro bench --json repro.json train_resnet20

Timing: median over --repeats runs of --steps steps each after warm-up, synchronizing the
device after every step (as repro waits for each step: the data of the next one is written
between steps).

Math on CUDA: full fp32, as repro's, unless --tf32 leaves PyTorch's default, under which cuDNN
runs fp32 convolutions on TF32 tensor cores (bench/precision.py). The JSON's device block says
which ("fp32_math"), as does each result's detail.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import precision  # noqa: E402

DEFAULT = ["train_mnist_cnn", "train_allcnn_c", "train_resnet20"]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(name, device, batch, steps, repeats, note):
    model_name = name[len("train_"):]
    mnist = model_name == "mnist_cnn"
    shape = (batch, 1, 28, 28) if mnist else (batch, 3, 32, 32)
    mean, std = ((0.5,), (0.25,)) if mnist else ((0.5,) * 3, (0.25,) * 3)
    torch.manual_seed(1)
    model = models.build(model_name, mean, std, 10, shape[1]).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(shape, device=device)
    y = torch.arange(batch, device=device) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        sync(device)

    step()
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    median = statistics.median(times)
    return {"name": name, "value": batch * steps / (median * 1e-3), "unit": "images/s",
            "batch": batch, "median_ms": median, "min_ms": times[0], "max_ms": times[-1], "repeats": repeats,
            "detail": f"PyTorch {torch.__version__}, batch {batch}, {steps} steps per run{note}"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", default=DEFAULT)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    p.add_argument("--tf32", action="store_true",
                   help="PyTorch's default math (cuDNN may use TF32) instead of full fp32")
    p.add_argument("--json")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    note = ""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        math = precision.set_fp32_math(strict=not a.tf32)
        note = f", convolutions {math['conv']}, matmul {math['matmul']}"
        info = {"name": torch.cuda.get_device_name(0), "class": "gpu",
                "driver": f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}",
                "fp32_math": math}
    else:
        info = {"name": "CPU", "class": "cpu", "threads": torch.get_num_threads()}
    root = {"peer": "pytorch", "torch_version": torch.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "device": info, "results": []}
    for name in a.names:
        r = bench(name, device, a.batch, a.steps, a.repeats, note)
        print(f"{r['name']:<22} {r['value']:10.1f} images/s  median {r['median_ms']:.1f} ms "
              f"({r['repeats']} runs)", flush=True)
        root["results"].append(r)
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(root, f, indent=2)
        os.replace(tmp, a.json)
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Trains a model of bench/models.py in PyTorch for some steps, with a loss computed the way the
official TaylorGLO trainer computes it, and prints how training starts: the loss, the accuracy
and mean true-class probability on the training batches, and how far apart the logits are.

Its use is to tell a property of a loss from a defect of repro. When a TaylorGLO loss leaves a
network at chance in `repro train`, the same loss, model and recipe here, on an independent
implementation, either learns (a repro bug) or stalls the same way (the loss).

The loss is that of the official trainer (cognizant-ai-labs/TaylorGLO,
fumanchu/utils/lossferatu_loss.py): y = softmax(logits), x = the one-hot label, the polynomial
f(x, y) of taylorglo.md §1 in the code convention evaluated per class, the per-sample loss
-sum_j f(x_j, y_j), and its mean over the batch. Autograd differentiates it; nothing of repro's
analytic gradient is used.

    python3 tools/torch_train.py --model resnet20 --dataset cifar10 --data DIR \\
        --loss taylorglo:a1,a2,a3,a4,a5,a6,t0,t1 [--lr 0.1] [--steps 300] [--json FILE]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "bench"))
sys.path.insert(0, here)
import models  # noqa: E402
import precision  # noqa: E402
from check_checkpoint import find, read_cifar, read_idx  # noqa: E402


def recipe(model):
    """The paper's learning rate, weight decay and batch for a model (taylorglo.md §7)."""
    if model == "mnist_cnn":
        return 0.01, 0.0, 100
    if model == "allcnn_c":
        return 0.01, 1e-3, 128
    if model.startswith("wrn"):
        return 0.1, 5e-4, 128
    return 0.1, 1e-4, 128  # the CIFAR ResNets and PreResNets


def train_set(dataset, directory):
    """The whole training file(s) of a dataset as float images in [0, 1] and labels."""
    if dataset in ("mnist", "fashion-mnist"):
        x = read_idx(find(directory, "train-images-idx3-ubyte")).unsqueeze(1)
        y = read_idx(find(directory, "train-labels-idx1-ubyte")).long()
        return x.float() / 255, y
    names = ["train.bin"] if dataset == "cifar100" else [f"data_batch_{i}.bin" for i in range(1, 6)]
    paths = [os.path.join(directory, n) for n in names]
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        raise FileNotFoundError(f"none of {', '.join(names)} in {directory}")
    return read_cifar(paths, dataset)


def make_loss(spec, classes):
    """ce, ls:ALPHA or taylorglo:a1,..,a6,t0,t1 (code convention), as a function of
    (logits, labels) returning the batch's mean loss."""
    if spec == "ce":
        return F.cross_entropy
    if spec.startswith("ls:"):
        alpha = float(spec[3:])
        return lambda z, t: F.cross_entropy(z, t, label_smoothing=alpha)
    if not spec.startswith("taylorglo:"):
        raise ValueError(f"--loss {spec}: expected ce, ls:ALPHA or taylorglo:a1,..,a6,t0,t1")
    a1, a2, a3, a4, a5, a6, t0, t1 = (float(v) for v in spec[len("taylorglo:"):].split(","))

    def taylorglo(z, t):
        y = torch.softmax(z, 1)
        x = F.one_hot(t, classes).float()
        f = (a1 * (y - t1) + a2 * (y - t1) ** 2 + a3 * (y - t1) ** 3 + a4 * (x - t0) * (y - t1)
             + a5 * (x - t0) * (y - t1) ** 2 + a6 * (x - t0) ** 2 * (y - t1))
        return torch.mean(-torch.sum(f, 1))
    return taylorglo


def augment(x, generator):
    """CIFAR's random crop 32 from the image padded by 4, and horizontal flip, per image."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    offsets = torch.randint(0, 9, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = offsets[i].tolist()
        crop = padded[i, :, dy:dy + 32, dx:dx + 32]
        out[i] = crop.flip(2) if flips[i] else crop
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True, choices=sorted(models.MEAN_STD))
    p.add_argument("--data", required=True, help="directory with the dataset's training files")
    p.add_argument("--loss", default="ce")
    p.add_argument("--lr", type=float, help="default: the paper's for the model")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, help="default: the paper's for the model")
    p.add_argument("--batch", type=int, help="default: the paper's for the model")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--every", type=int, default=20, help="steps per printed line")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", help="write the configuration and every printed line here")
    a = p.parse_args()

    math = precision.set_fp32_math(strict=True)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    lr, wd, batch = recipe(a.model)
    lr = a.lr if a.lr is not None else lr
    wd = a.weight_decay if a.weight_decay is not None else wd
    batch = a.batch or batch
    cifar = a.dataset.startswith("cifar")
    classes = 100 if a.dataset == "cifar100" else 10
    mean, std = models.MEAN_STD[a.dataset]
    model = models.build(a.model, mean, std, classes, len(mean)).to(a.device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=a.momentum, weight_decay=wd)
    loss_fn = make_loss(a.loss, classes)
    x_all, y_all = train_set(a.dataset, a.data)
    generator = torch.Generator().manual_seed(a.seed)

    config = {"model": a.model, "dataset": a.dataset, "loss": a.loss, "lr": lr,
              "momentum": a.momentum, "weight_decay": wd, "batch": batch, "steps": a.steps,
              "seed": a.seed, "augment": "crop,flip" if cifar else "none",
              "torch_version": torch.__version__, "threads": torch.get_num_threads(),
              "device": a.device, "fp32_math": math}
    print(json.dumps(config), flush=True)
    lines, order, start = [], torch.randperm(len(y_all), generator=generator), 0
    totals = dict(loss=0.0, correct=0.0, true_prob=0.0, images=0)
    began = time.time()
    model.train()
    for step in range(1, a.steps + 1):
        if start + batch > len(y_all):
            order, start = torch.randperm(len(y_all), generator=generator), 0
        index = order[start:start + batch]
        start += batch
        x, target = x_all[index], y_all[index]
        if cifar:
            x = augment(x, generator)
        logits = model(x.to(a.device))
        target = target.to(a.device)
        loss = loss_fn(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            prob = torch.softmax(logits, 1)
            totals["loss"] += loss.item() * batch
            totals["correct"] += (logits.argmax(1) == target).sum().item()
            totals["true_prob"] += prob.gather(1, target[:, None]).sum().item()
            totals["images"] += batch
        if step % a.every == 0 or step == a.steps:
            n = totals["images"]
            line = {"step": step, "loss": totals["loss"] / n, "accuracy": totals["correct"] / n,
                    "true_class_probability": totals["true_prob"] / n,
                    # The last batch's logits: their spread across classes (mean over images)
                    # and their largest magnitude. A softmax saturated at a wrong class has
                    # gradients near zero: the network stops learning.
                    "logit_spread": logits.detach().std(1).mean().item(),
                    "logit_max_abs": logits.detach().abs().max().item(),
                    "seconds": time.time() - began}
            lines.append(line)
            print(f"step {step}: loss {line['loss']:.5g}, acc {100 * line['accuracy']:.1f}%, "
                  f"true-class p {line['true_class_probability']:.3f}, logit spread "
                  f"{line['logit_spread']:.3g} (max |z| {line['logit_max_abs']:.3g}), "
                  f"{line['seconds']:.0f} s", flush=True)
            totals = dict(loss=0.0, correct=0.0, true_prob=0.0, images=0)
    if a.json:
        tmp = a.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"config": config, "lines": lines}, f, indent=1)
        os.replace(tmp, a.json)


if __name__ == "__main__":
    main()

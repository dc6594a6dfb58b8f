#!/usr/bin/python3
"""Reference evaluation counts for tests/test_cmaes.c, from an independent CMA-ES in numpy.

The algorithm is Hansen's (mu/mu_w, lambda)-CMA-ES exactly as in "The CMA Evolution Strategy:
A Tutorial" (arXiv:1604.00772, Table 1 and Appendix A; the same as his purecmaes.m), written
here from the tutorial, not from runtime/meta/cmaes.c: numpy's generator for the normals
(another random stream than the C code's), numpy.linalg.eigh for the eigendecomposition. The
C test asserts that its median evaluation counts lie in a band around the medians printed
here.

Usage: /usr/bin/python3 tools/cmaes_reference.py [runs]   (needs numpy; default 101 runs)
Prints, per problem: success rate, and the median and quartiles of the evaluations to the
target over the successful runs (a run succeeds when a candidate's f < target within
1e3 N^2 evaluations, before sigma max(D) < 1e-12 or cond(C) > 1e14; on Rosenbrock the
failures are runs converging to the local minimum near x_1 = -1).
"""
import math
import sys

import numpy as np


def sphere(x):
    return float(np.dot(x, x))


def ellipsoid(x):  # condition 1e6: f = sum 10^(6 (i-1)/(N-1)) x_i^2
    n = len(x)
    return float(sum(10.0 ** (6.0 * i / (n - 1)) * x[i] ** 2 for i in range(n)))


def rosenbrock(x):
    return float(sum(100.0 * (x[i] ** 2 - x[i + 1]) ** 2 + (1.0 - x[i]) ** 2
                     for i in range(len(x) - 1)))


def cmaes_run(f, x0, sigma, target, seed, max_evals):
    """Evaluations until a candidate has f < target (or None past max_evals)."""
    rng = np.random.default_rng(seed)
    n = len(x0)
    lam = 4 + int(math.floor(3 * math.log(n)))
    mu = lam // 2
    w = math.log((lam + 1) / 2) - np.log(np.arange(1, mu + 1))
    w = w / w.sum()
    mueff = 1.0 / np.sum(w ** 2)
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
    cs = (mueff + 2) / (n + mueff + 5)
    c1 = 2 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    damps = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + cs
    chin = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))

    m = np.array(x0, dtype=float)
    pc, ps = np.zeros(n), np.zeros(n)
    B, D, C = np.eye(n), np.ones(n), np.eye(n)
    invsqrtC = np.eye(n)
    evals, eigeneval, g = 0, 0, 0
    while evals < max_evals and sigma * D.max() > 1e-12:
        z = rng.standard_normal((lam, n))
        y = (z * D) @ B.T                     # rows: B D z_k
        x = m + sigma * y
        fit = np.array([f(xk) for xk in x])
        evals += lam
        g += 1
        if fit.min() < target:
            return evals
        idx = np.argsort(fit, kind="stable")[:mu]
        ysel = y[idx]                          # (x_i:lambda - m) / sigma
        yw = w @ ysel
        m = m + sigma * yw
        ps = (1 - cs) * ps + math.sqrt(cs * (2 - cs) * mueff) * (invsqrtC @ yw)
        psn = np.linalg.norm(ps)
        hsig = psn / math.sqrt(1 - (1 - cs) ** (2 * g)) < (1.4 + 2 / (n + 1)) * chin
        pc = (1 - cc) * pc + hsig * math.sqrt(cc * (2 - cc) * mueff) * yw
        delta = (1 - hsig) * cc * (2 - cc)
        C = ((1 - c1 - cmu) * C + c1 * (np.outer(pc, pc) + delta * C)
             + cmu * (ysel.T * w) @ ysel)
        sigma *= math.exp(cs / damps * (psn / chin - 1))
        if evals - eigeneval > lam / (c1 + cmu) / n / 10:
            eigeneval = evals
            C = np.triu(C) + np.triu(C, 1).T
            ev, B = np.linalg.eigh(C)
            if ev[0] <= 0 or ev[-1] > 1e14 * ev[0]:
                return None  # converged into a local minimum and degenerating
            D = np.sqrt(ev)
            invsqrtC = B @ np.diag(1 / D) @ B.T
    return None


PROBLEMS = [  # name, f, dim, x0 (every coordinate), sigma0, target
    ("sphere", sphere, 8, 0.5, 0.3, 1e-10),
    ("sphere", sphere, 10, 0.5, 0.3, 1e-10),
    ("ellipsoid", ellipsoid, 8, 0.5, 0.3, 1e-10),
    ("ellipsoid", ellipsoid, 10, 0.5, 0.3, 1e-10),
    ("rosenbrock", rosenbrock, 8, 0.1, 0.5, 1e-8),
    ("rosenbrock", rosenbrock, 10, 0.1, 0.5, 1e-8),
]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 101
    for name, f, n, x0, sigma0, target in PROBLEMS:
        counts = [cmaes_run(f, [x0] * n, sigma0, target, seed, 1000 * n * n)
                  for seed in range(runs)]
        ok = sorted(c for c in counts if c is not None)
        q = np.percentile(ok, [25, 50, 75])
        print("%-10s N=%2d: %3d/%d reach %g; evaluations median %.0f (quartiles %.0f..%.0f)"
              % (name, n, len(ok), runs, target, q[1], q[0], q[2]))


if __name__ == "__main__":
    main()

"""Benchmark: chainrule's eager gradients against autograd, JAX (no jit), PyTorch eager and NumPy.

A script, not a test. It times every implementation side by side in one process: each gets
a warm-up and an inner loop count chosen so that one round lasts long enough to time; then
the rounds run interleaved across implementations, and the script reports the median time per
call and the ratio chainrule / implementation.
Before timing, every implementation's gradient is compared with the hand-written NumPy one,
so a fast but wrong row shows up as such.

Workloads:
    W1  gradient of a scalar function of a float64[10] vector built from 100 elementwise
        operations (sin, cos, tanh, exp, mul, add) and a final sum: per-operation overhead.
    W2  gradient of the logistic-regression loss mean(log(1 + exp(-y * (X @ theta)))) with
        X float64[10000, 100]: overhead on top of real array work.

Every peer is optional; a peer that fails to import prints "not installed" in its row.
Run from the repository root, as the README says:

    pip install -e ".[bench]"
    env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        python bench/bench_core.py [--quick]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (import_autograd, import_chainrule, import_jax, import_torch,  # noqa: E402
                     parse_args, print_header, run_workload, verdict)

W1_SIZE = 10
W1_ITERATIONS = 25
W2_N = 10_000
W2_D = 100
W1_TARGETS = "chainrule <= 0.5 x autograd and chainrule <= 1.0 x PyTorch eager"
W2_TARGETS = "chainrule <= 1.15 x hand-written NumPy"


# ---------------------------------------------------------------------------------------------
# Workloads, written once for any NumPy-like module.


def w1(np_like, x):
    """100 elementwise operations on x, then a sum (the same code for every library)."""
    for i in range(W1_ITERATIONS):
        if i % 2 == 0:
            x = np_like.sin(x) * 0.9 + np_like.tanh(x)
        else:
            x = np_like.cos(x) + np_like.exp(x) * 0.1
    return x.sum()


def w1_grad_hand(x: np.ndarray) -> np.ndarray:
    """Hand-written gradient of w1: forward pass keeping what the backward pass needs."""
    saved = []
    for i in range(W1_ITERATIONS):
        if i % 2 == 0:
            t = np.tanh(x)
            saved.append((x, t))
            x = np.sin(x) * 0.9 + t
        else:
            e = np.exp(x)
            saved.append((x, e))
            x = np.cos(x) + e * 0.1
    g = np.ones_like(x)
    for i in reversed(range(W1_ITERATIONS)):
        x_i, kept = saved[i]
        if i % 2 == 0:
            g = g * (np.cos(x_i) * 0.9 + (1.0 - kept * kept))
        else:
            g = g * (kept * 0.1 - np.sin(x_i))
    return g


def w2_loss(np_like, theta, X, y):
    """Mean logistic loss mean(log(1 + exp(-y * (X @ theta)))) in the stable logaddexp form."""
    margins = np_like.dot(X, theta) * y
    return np_like.mean(np_like.logaddexp(0.0, -margins))


def w2_grad_hand(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Hand-written gradient: X^T (-y * sigmoid(-margins)) / N, with SciPy's stable sigmoid."""
    from scipy.special import expit

    margins = (X @ theta) * y
    return X.T @ (-y * expit(-margins)) / X.shape[0]


# ---------------------------------------------------------------------------------------------
# Gradient callables per implementation: each takes a NumPy array, returns the gradient.


def make_w1_impls(libs: dict) -> dict[str, Callable | str]:
    impls: dict[str, Callable | str] = {}

    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        impls["chainrule"] = cr.grad(lambda x: w1(cnp, x))
    else:
        impls["chainrule"] = libs["chainrule"][1]

    if libs["autograd"][0] is not None:
        autograd, anp = libs["autograd"][0]
        impls["autograd"] = autograd.grad(lambda x: w1(anp, x))
    else:
        impls["autograd"] = libs["autograd"][1]

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        jax_grad = jax.grad(lambda x: w1(jnp, x))
        impls["JAX (no jit)"] = lambda x: jax_grad(x).block_until_ready()
    else:
        impls["JAX (no jit)"] = libs["jax"][1]

    if libs["torch"][0] is not None:
        torch = libs["torch"][0]

        def torch_grad(x):
            leaf = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            w1(torch, leaf).backward()
            return leaf.grad.numpy()

        impls["PyTorch eager"] = torch_grad
    else:
        impls["PyTorch eager"] = libs["torch"][1]

    impls["hand NumPy"] = w1_grad_hand
    return impls


def make_w2_impls(libs: dict, X: np.ndarray, y: np.ndarray) -> dict[str, Callable | str]:
    impls: dict[str, Callable | str] = {}

    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        impls["chainrule"] = cr.grad(lambda theta: w2_loss(cnp, theta, X, y))
    else:
        impls["chainrule"] = libs["chainrule"][1]

    impls["hand NumPy"] = lambda theta: w2_grad_hand(theta, X, y)

    if libs["autograd"][0] is not None:
        autograd, anp = libs["autograd"][0]
        impls["autograd"] = autograd.grad(lambda theta: w2_loss(anp, theta, X, y))
    else:
        impls["autograd"] = libs["autograd"][1]

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        X_jax, y_jax = jnp.asarray(X), jnp.asarray(y)  # converted once, outside the timing
        jax_grad = jax.grad(lambda theta: w2_loss(jnp, theta, X_jax, y_jax))
        impls["JAX (no jit)"] = lambda theta: jax_grad(theta).block_until_ready()
    else:
        impls["JAX (no jit)"] = libs["jax"][1]

    if libs["torch"][0] is not None:
        torch = libs["torch"][0]
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)  # zero-copy views
        zero = torch.tensor(0.0, dtype=torch.float64)

        def torch_grad(theta):
            leaf = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
            margins = torch.mv(X_t, leaf) * y_t
            torch.logaddexp(zero, -margins).mean().backward()
            return leaf.grad.numpy()

        impls["PyTorch eager"] = torch_grad
    else:
        impls["PyTorch eager"] = libs["torch"][1]
    return impls


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    libs = {
        "chainrule": import_chainrule(),
        "autograd": import_autograd(),
        "jax": import_jax(),
        "torch": import_torch(),
    }
    print_header("chainrule core benchmark", libs, args, {"W1": W1_TARGETS, "W2": W2_TARGETS})

    rng = np.random.default_rng(0)
    x = rng.normal(size=W1_SIZE)
    w1_results = run_workload(
        f"W1: grad of {4 * W1_ITERATIONS} elementwise ops + sum, x float64[{W1_SIZE}]",
        make_w1_impls(libs),
        x,
        w1_grad_hand(x),
        args,
    )

    X = rng.normal(size=(W2_N, W2_D))
    y = np.where(rng.random(W2_N) < 0.5, -1.0, 1.0)
    theta = rng.normal(size=W2_D) * 0.1
    w2_results = run_workload(
        f"W2: grad of logistic loss, X float64[{W2_N}, {W2_D}]",
        make_w2_impls(libs, X, y),
        theta,
        w2_grad_hand(theta, X, y),
        args,
    )

    print("\ntargets:")
    verdict("W1 vs autograd", w1_results, "autograd", 0.5)
    verdict("W1 vs PyTorch eager", w1_results, "PyTorch eager", 1.0)
    verdict("W2 vs hand NumPy", w2_results, "hand NumPy", 1.15)


if __name__ == "__main__":
    main()

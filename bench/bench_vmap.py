"""Benchmark: chainrule's vmap-built transforms (hessian, per-example gradients) against JAX,
PyTorch (torch.func and eager), autograd and hand-written NumPy.

A script, not a test. It times every implementation side by side in one process: each gets
a warm-up and an inner loop count chosen so that one round lasts long enough to time; then
the rounds run interleaved across implementations, and the script reports the median time per
call and the ratio chainrule / implementation.
Before timing, every implementation's result is compared with the closed-form NumPy one, so
a fast but wrong row shows up as such.

Workloads (float64 throughout):
    W5  the Hessian of f(x) = sum(tanh(A @ x) ** 2), A of shape 300 x 200, x of size 200
        (chainrule: hessian = jacfwd(jacrev(f)), a vmap of JVPs of a VJP).
    W6  per-example gradients of the logistic loss log(1 + exp(-y x.w)), d = 100, a batch of
        512 examples (chainrule: vmap(grad(loss), in_axes=(None, 0, 0))).

Rows: chainrule without and with `cr.jit`; JAX without and with jit (x64 enabled); PyTorch
torch.func (hessian for W5, vmap(grad) for W6); PyTorch eager autograd on W6 with the weight
tiled once per example (w_rep = w.expand(B, d), so w_rep.grad holds the per-example
gradients); autograd (autograd.hessian for W5, a Python loop of autograd.grad for W6); the
closed form in NumPy. Every peer is optional; a peer that fails to import prints
"not installed" in its row, and a row that raises prints the error.

The "faults" column is the median number of minor page faults per call: NumPy temporaries
of 128 KiB and more are mapped afresh by glibc's allocator on every call (and unmapped when
freed), and on some virtual machines faulting those pages in costs as much as the arithmetic.
(MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ change that for every row alike; the header
shows them when set.)

JAX runs with one intra-op thread (XLA_FLAGS, unless already set), like NumPy and PyTorch
under the thread variables below. Run from the repository root:

    pip install -e ".[bench]"
    env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        python bench/bench_vmap.py [--quick]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (import_autograd, import_chainrule, import_jax, import_torch,  # noqa: E402
                     parse_args, print_header, run_workload, verdict)

W5_M, W5_N = 300, 200
W6_B, W6_D = 512, 100
W5_TARGETS = "chainrule (no jit) <= 1.0 x torch.func.hessian and <= 2.0 x JAX jit"
W6_TARGETS = "chainrule (no jit) <= 1.0 x PyTorch eager (tiled w) and <= 2.0 x JAX jit"


# ---------------------------------------------------------------------------------------------
# Workloads, written once for any NumPy-like module, and their closed forms.


def w5_f(np_like, A, x):
    """sum(tanh(A @ x) ** 2)."""
    return np_like.sum(np_like.tanh(A @ x) ** 2)


def w5_hessian_hand(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A^T diag(2 (1 - t^2)(1 - 3 t^2)) A with t = tanh(A x)."""
    t = np.tanh(A @ x)
    return A.T @ (A * (2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t))[:, None])


def w6_loss(np_like, w, x, y):
    """The logistic loss of one example, log(1 + exp(-y x.w)), in the stable logaddexp form."""
    return np_like.logaddexp(0.0, -y * np_like.dot(x, w))


def w6_grads_hand(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row i: -y_i sigmoid(-y_i x_i.w) x_i, with SciPy's stable sigmoid."""
    from scipy.special import expit

    return (-y * expit(-y * (X @ w)))[:, None] * X


# ---------------------------------------------------------------------------------------------
# Callables per implementation: each takes a NumPy array, returns the result.


def _missing(libs, name):
    return libs[name][1]


def make_w5_impls(libs: dict, A: np.ndarray) -> dict[str, Callable | str]:
    impls: dict[str, Callable | str] = {}

    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        hess = cr.hessian(lambda x: w5_f(cnp, A, x))
        impls["chainrule"] = hess
        impls["chainrule jit"] = cr.jit(hess)
    else:
        impls["chainrule"] = impls["chainrule jit"] = _missing(libs, "chainrule")

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        A_jax = jnp.asarray(A)  # converted once, outside the timing
        jax_hess = jax.hessian(lambda x: w5_f(jnp, A_jax, x))
        jax_hess_jit = jax.jit(jax_hess)
        impls["JAX (no jit)"] = lambda x: jax_hess(x).block_until_ready()
        impls["JAX jit"] = lambda x: jax_hess_jit(x).block_until_ready()
    else:
        impls["JAX (no jit)"] = impls["JAX jit"] = _missing(libs, "jax")

    if libs["torch"][0] is not None:
        torch = libs["torch"][0]
        A_t = torch.from_numpy(A)
        torch_hess = torch.func.hessian(lambda x: (torch.tanh(A_t @ x) ** 2).sum())
        impls["torch.func"] = lambda x: torch_hess(torch.from_numpy(x)).numpy()
    else:
        impls["torch.func"] = _missing(libs, "torch")

    if libs["autograd"][0] is not None:
        autograd, anp = libs["autograd"][0]
        impls["autograd"] = autograd.hessian(lambda x: w5_f(anp, A, x))
    else:
        impls["autograd"] = _missing(libs, "autograd")

    impls["hand NumPy"] = lambda x: w5_hessian_hand(A, x)
    return impls


def make_w6_impls(libs: dict, X: np.ndarray, y: np.ndarray) -> dict[str, Callable | str]:
    impls: dict[str, Callable | str] = {}
    n, d = X.shape

    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        per_ex = cr.vmap(cr.grad(lambda w, x, y: w6_loss(cnp, w, x, y)), in_axes=(None, 0, 0))
        per_ex_jit = cr.jit(per_ex)
        impls["chainrule"] = lambda w: per_ex(w, X, y)
        impls["chainrule jit"] = lambda w: per_ex_jit(w, X, y)
    else:
        impls["chainrule"] = impls["chainrule jit"] = _missing(libs, "chainrule")

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        X_jax, y_jax = jnp.asarray(X), jnp.asarray(y)
        jax_per_ex = jax.vmap(jax.grad(lambda w, x, y: w6_loss(jnp, w, x, y)),
                              in_axes=(None, 0, 0))
        jax_per_ex_jit = jax.jit(jax_per_ex)
        impls["JAX (no jit)"] = lambda w: jax_per_ex(w, X_jax, y_jax).block_until_ready()
        impls["JAX jit"] = lambda w: jax_per_ex_jit(w, X_jax, y_jax).block_until_ready()
    else:
        impls["JAX (no jit)"] = impls["JAX jit"] = _missing(libs, "jax")

    if libs["torch"][0] is not None:
        torch = libs["torch"][0]
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)  # zero-copy views
        zero = torch.tensor(0.0, dtype=torch.float64)

        def loss_t(w, x, y):
            return torch.logaddexp(zero, -y * torch.dot(x, w))

        func_per_ex = torch.func.vmap(torch.func.grad(loss_t), in_dims=(None, 0, 0))
        impls["torch.func"] = lambda w: func_per_ex(torch.from_numpy(w), X_t, y_t).numpy()

        def eager_per_ex(w):
            # one copy of w per example (a stride-0 view): its gradient is per example
            w_rep = torch.from_numpy(w).expand(n, d).requires_grad_()
            margins = (X_t * w_rep).sum(dim=1) * y_t
            torch.logaddexp(zero, -margins).sum().backward()
            return w_rep.grad.numpy()

        impls["PyTorch eager"] = eager_per_ex
    else:
        impls["torch.func"] = impls["PyTorch eager"] = _missing(libs, "torch")

    if libs["autograd"][0] is not None:
        autograd, anp = libs["autograd"][0]
        ag_grad = autograd.grad(lambda w, x, y: w6_loss(anp, w, x, y))
        impls["autograd loop"] = lambda w: np.stack([ag_grad(w, X[i], y[i]) for i in range(n)])
    else:
        impls["autograd loop"] = _missing(libs, "autograd")

    impls["hand NumPy"] = lambda w: w6_grads_hand(w, X, y)
    return impls


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    libs = {
        "chainrule": import_chainrule("vmap"),
        "autograd": import_autograd(),
        "jax": import_jax(one_thread=True),
        "torch": import_torch(func=True),
    }
    print_header("chainrule vmap benchmark", libs, args, {"W5": W5_TARGETS, "W6": W6_TARGETS},
                 machine=True)

    rng = np.random.default_rng(0)
    A = rng.normal(size=(W5_M, W5_N)) / np.sqrt(W5_N)
    x = rng.normal(size=W5_N)
    w5_results = run_workload(
        f"W5: hessian of sum(tanh(A @ x) ** 2), A float64[{W5_M}, {W5_N}]",
        make_w5_impls(libs, A),
        x,
        w5_hessian_hand(A, x),
        args,
        faults=True,
        tolerance=1e-8,
    )

    X = rng.normal(size=(W6_B, W6_D))
    y = np.where(rng.random(W6_B) < 0.5, -1.0, 1.0)
    w = rng.normal(size=W6_D) * 0.1
    w6_results = run_workload(
        f"W6: per-example gradients of the logistic loss, batch {W6_B}, d = {W6_D}",
        make_w6_impls(libs, X, y),
        w,
        w6_grads_hand(w, X, y),
        args,
        faults=True,
        tolerance=1e-8,
    )

    print("\ntargets:")
    verdict("W5 vs torch.func", w5_results, "torch.func", 1.0)
    verdict("W5 vs JAX jit", w5_results, "JAX jit", 2.0)
    verdict("W6 vs PyTorch eager", w6_results, "PyTorch eager", 1.0)
    verdict("W6 vs JAX jit", w6_results, "JAX jit", 2.0)


if __name__ == "__main__":
    main()

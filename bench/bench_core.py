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

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

W1_SIZE = 10
W1_ITERATIONS = 25
W2_N = 10_000
W2_D = 100
W1_TARGETS = "chainrule <= 0.5 x autograd and chainrule <= 1.0 x PyTorch eager"
W2_TARGETS = "chainrule <= 1.15 x hand-written NumPy"
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------------------------------------
# Optional imports: each returns (module-ish object or None, message for the table).


def import_chainrule():
    """Import chainrule and chainrule.numpy, from the installed package or this checkout."""
    try:
        import chainrule as cr
        import chainrule.numpy as cnp
    except ImportError as first_error:
        repo_root = str(Path(__file__).resolve().parent.parent)
        if repo_root in sys.path:
            return None, f"import failed: {type(first_error).__name__}: {first_error}"
        sys.path.insert(0, repo_root)
        try:
            import chainrule as cr
            import chainrule.numpy as cnp
        except Exception as error:  # the core may be half-written: report, never crash
            return None, f"import failed: {type(error).__name__}: {error}"
    except Exception as error:
        return None, f"import failed: {type(error).__name__}: {error}"
    if not hasattr(cr, "grad"):
        return None, "import failed: chainrule has no `grad` yet"
    return (cr, cnp), getattr(cr, "__version__", "checkout")


def import_autograd():
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None, "not installed"
    from importlib.metadata import version

    return (autograd, anp), version("autograd")


def import_jax():
    try:
        import jax
    except ImportError:
        return None, "not installed"
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return (jax, jnp), jax.__version__


def import_torch():
    try:
        import torch
    except ImportError:
        return None, "not installed"
    return torch, torch.__version__


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
# Timing.


def choose_loops(fn: Callable, arg, round_seconds: float, warmup: int) -> int:
    """Warm fn up, then pick a number of calls that makes one round last about round_seconds."""
    for _ in range(warmup):
        fn(arg)
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn(arg)
        elapsed = time.perf_counter() - start
        if elapsed >= round_seconds / 2 or loops >= 1 << 20:
            return loops
        loops *= 2 if elapsed <= 0 else max(2, min(10, int(round_seconds / elapsed)))


def time_round(fn: Callable, arg, loops: int) -> float:
    """Seconds per call over one round of `loops` calls, with the garbage collector paused."""
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(loops):
            fn(arg)
        return (time.perf_counter() - start) / loops
    finally:
        if gc_was_enabled:
            gc.enable()


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:8.3f} ms"
    return f"{seconds:8.3f} s "


def run_workload(title: str, impls: dict, arg, reference: np.ndarray, args) -> dict[str, float]:
    """Check each implementation against the reference gradient, time it, print the table.

    Rounds are interleaved (round r of every implementation, then round r + 1), so a change
    in machine load during the run affects every row alike rather than skewing the ratios.
    """
    print(f"\n{title}")
    header = (
        f"  {'implementation':<16} {'median/call':>12}  {'chainrule/this':>14}  "
        f"{'spread':>7}  rel. error"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    notes: dict[str, str] = {}
    errors: dict[str, str] = {}
    loops: dict[str, int] = {}
    for name, impl in impls.items():
        if isinstance(impl, str):
            notes[name] = impl
            continue
        try:
            grad = np.asarray(impl(arg), dtype=np.float64)
            rel_err = float(np.max(np.abs(grad - reference)) / np.max(np.abs(reference)))
            errors[name] = f"{rel_err:.1e}"
            loops[name] = choose_loops(impl, arg, args.round_seconds, args.warmup)
        except Exception as error:  # a broken row must not hide the others
            notes[name] = f"failed: {type(error).__name__}: {error}"
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name in list(samples):
            try:
                samples[name].append(time_round(impls[name], arg, loops[name]))
            except Exception as error:
                notes[name] = f"failed: {type(error).__name__}: {error}"
                del samples[name]
    results = {name: statistics.median(times) for name, times in samples.items()}
    base = results.get("chainrule")
    for name in impls:
        if name in notes:
            print(f"  {name:<16} {notes[name]}")
            continue
        times = samples[name]
        spread = (max(times) - min(times)) / results[name]
        ratio = f"{base / results[name]:14.2f}" if base is not None else f"{'n/a':>14}"
        print(
            f"  {name:<16} {format_seconds(results[name]):>12}  {ratio}  "
            f"{spread:6.0%}  {errors[name]}"
        )
    print("  (spread: (slowest - fastest round) / median; large values mean a noisy machine)")
    return results


def verdict(label: str, results: dict[str, float], peer: str, bound: float) -> None:
    if "chainrule" not in results or peer not in results:
        print(f"  {label}: not measured (chainrule or {peer} missing)")
        return
    ratio = results["chainrule"] / results[peer]
    status = "MET" if ratio <= bound else "NOT MET"
    print(f"  {label}: chainrule/{peer} = {ratio:.2f} (target <= {bound:g}) -> {status}")


# ---------------------------------------------------------------------------------------------


def print_header(libs: dict, args) -> None:
    print("chainrule core benchmark")
    print(f"  python {platform.python_version()} on {platform.platform()}")
    print(f"  numpy {np.__version__}")
    for var in THREAD_VARS:
        print(f"  {var}={os.environ.get(var, '(unset)')}")
    unset = [var for var in THREAD_VARS if os.environ.get(var) != "1"]
    if unset:
        print(f"  WARNING: {', '.join(unset)} not 1; the README runs with one BLAS thread")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype is not None:
        print(
            f"  WARNING: OPENBLAS_CORETYPE={coretype} is set; the README unsets it "
            "(env -u OPENBLAS_CORETYPE) so OpenBLAS picks its kernels for this CPU"
        )
    else:
        print("  OPENBLAS_CORETYPE is unset")
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            print(
                f"  threadpool: {pool.get('internal_api')} {pool.get('version')} "
                f"threads={pool.get('num_threads')}"
            )
    except ImportError:
        pass
    for name, (module, message) in libs.items():
        detail = message if module is None else f"version {message}"
        print(f"  {name}: {detail}")
    if libs["torch"][0] is not None:
        print(f"  torch threads: {libs['torch'][0].get_num_threads()}")
    print(f"  timing: {args.rounds} rounds, each >= ~{args.round_seconds:g} s, median per call")
    print("targets:")
    print(f"  W1: {W1_TARGETS}")
    print(f"  W2: {W2_TARGETS}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.round_seconds, args.warmup = 3, 0.05, 2
    else:
        args.rounds, args.round_seconds, args.warmup = 7, 0.2, 5
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    libs = {
        "chainrule": import_chainrule(),
        "autograd": import_autograd(),
        "jax": import_jax(),
        "torch": import_torch(),
    }
    print_header(libs, args)

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

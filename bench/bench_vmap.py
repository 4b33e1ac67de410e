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

W5_M, W5_N = 300, 200
W6_B, W6_D = 512, 100
W5_TARGETS = "chainrule (no jit) <= 1.0 x torch.func.hessian and <= 2.0 x JAX jit"
W6_TARGETS = "chainrule (no jit) <= 1.0 x PyTorch eager (tiled w) and <= 2.0 x JAX jit"
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
JAX_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


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
        except Exception as error:
            return None, f"import failed: {type(error).__name__}: {error}"
    except Exception as error:
        return None, f"import failed: {type(error).__name__}: {error}"
    if not hasattr(cr, "vmap"):
        return None, "import failed: chainrule has no `vmap` yet"
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
    os.environ.setdefault("XLA_FLAGS", JAX_ONE_THREAD)
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
        import torch.func  # noqa: F401
    except ImportError:
        return None, "not installed"
    return torch, torch.__version__


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


def _minor_faults() -> int:
    try:
        import resource
    except ImportError:  # not on this platform
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_round(fn: Callable, arg, loops: int) -> tuple[float, float]:
    """Seconds per call over one round of `loops` calls, with the garbage collector paused,
    and the minor page faults per call (fresh memory touched: large temporaries that the C
    allocator maps and unmaps on every call show up here)."""
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        faults = _minor_faults()
        start = time.perf_counter()
        for _ in range(loops):
            fn(arg)
        seconds = (time.perf_counter() - start) / loops
        return seconds, (_minor_faults() - faults) / loops
    finally:
        if gc_was_enabled:
            gc.enable()


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:8.3f} ms"
    return f"{seconds:8.3f} s "


def _one_line(error: Exception, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return f"failed: {type(error).__name__}: {text}"


def run_workload(title: str, impls: dict, arg, reference: np.ndarray, args) -> dict[str, float]:
    """Check each implementation against the reference, time it, print the table.

    Rounds are interleaved (round r of every implementation, then round r + 1), so a change
    in machine load during the run affects every row alike rather than skewing the ratios.
    """
    print(f"\n{title}")
    header = (
        f"  {'implementation':<16} {'median/call':>12}  {'chainrule/this':>14}  "
        f"{'spread':>7}  {'faults':>7}  rel. error"
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
            out = np.asarray(impl(arg), dtype=np.float64)
            if out.shape != reference.shape:
                raise ValueError(f"result of shape {out.shape}, expected {reference.shape}")
            rel_err = float(np.max(np.abs(out - reference)) / np.max(np.abs(reference)))
            errors[name] = f"{rel_err:.1e}" + ("  WRONG" if rel_err > 1e-8 else "")
            loops[name] = choose_loops(impl, arg, args.round_seconds, args.warmup)
        except Exception as error:  # a broken row must not hide the others
            notes[name] = _one_line(error)
    samples: dict[str, list[float]] = {name: [] for name in loops}
    faults: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name in list(samples):
            try:
                seconds, per_call = time_round(impls[name], arg, loops[name])
                samples[name].append(seconds)
                faults[name].append(per_call)
            except Exception as error:
                notes[name] = _one_line(error)
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
            f"{spread:6.0%}  {statistics.median(faults[name]):7.0f}  {errors[name]}"
        )
    print("  (spread: (slowest - fastest round) / median; large values mean a noisy machine;")
    print("   faults: minor page faults per call, memory the call touched for the first time)")
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
    print("chainrule vmap benchmark")
    print(f"  python {platform.python_version()} on {platform.platform()}")
    print(f"  processor: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus")
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
    print(f"  XLA_FLAGS={os.environ.get('XLA_FLAGS', '(unset)')}")
    for var in sorted(v for v in os.environ if v.startswith("MALLOC_")):
        print(f"  {var}={os.environ[var]} (changes how often temporaries are mapped afresh)")
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
    if libs["jax"][0] is not None:
        jax = libs["jax"][0][0]
        print(f"  jax devices: {', '.join(str(d) for d in jax.devices())}")
    print(f"  timing: {args.rounds} rounds, each >= ~{args.round_seconds:g} s, median per call")
    print("targets:")
    print(f"  W5: {W5_TARGETS}")
    print(f"  W6: {W6_TARGETS}")


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
    A = rng.normal(size=(W5_M, W5_N)) / np.sqrt(W5_N)
    x = rng.normal(size=W5_N)
    w5_results = run_workload(
        f"W5: hessian of sum(tanh(A @ x) ** 2), A float64[{W5_M}, {W5_N}]",
        make_w5_impls(libs, A),
        x,
        w5_hessian_hand(A, x),
        args,
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
    )

    print("\ntargets:")
    verdict("W5 vs torch.func", w5_results, "torch.func", 1.0)
    verdict("W5 vs JAX jit", w5_results, "JAX jit", 2.0)
    verdict("W6 vs PyTorch eager", w6_results, "PyTorch eager", 1.0)
    verdict("W6 vs JAX jit", w6_results, "JAX jit", 2.0)


if __name__ == "__main__":
    main()

"""Benchmark: chainrule's jit against JAX jit, torch.compile and hand-written NumPy.

A script, not a test. It times every implementation side by side in one process: each gets
a warm-up and an inner loop count chosen so that one round lasts long enough to time; then
the rounds run interleaved across implementations, and the script reports the median time per
call and the ratio chainrule jit / implementation. Before timing, every implementation's
result is compared with a NumPy reference (float64 where the workload is float32), so a fast
but wrong row shows up as such. Each implementation receives its inputs as its own array type
(NumPy, jax.Array, torch.Tensor), converted once outside the timing; JAX calls end with
block_until_ready.

Workloads:
    W1  jit(grad) of bench_core.py's W1 (100 elementwise operations and a sum) on a float64[10]
        vector: the call overhead of a compiled gradient.
    W3  one MLP training step, float32, 784-512-512-10, tanh, log-softmax cross-entropy against
        one-hot labels, batch 128: jit of value_and_grad of the loss plus the SGD update of all
        six parameters, one step function returning (new params, loss).
    W4  x * x + x * 2.0 on a float32[5000, 5000] array, against a memory-bandwidth floor
        measured in the same run: a NumPy allocate-and-copy of the same array (x.copy()).
    W7  jit of a function of 1,000 unrolled elementwise operations (W1's loop body 250 times, no
        sum) on float64[1000]: the time to first result (a fresh function object per
        measurement, so no cache is hit; median of a few) and the steady-state time per call.
    W9  gradient of sum(h_T ** 2) for a tanh RNN h' = tanh(h Wh + x_t Wx + b), hidden 128, input
        32, 100 steps, batch 16, float64 for every implementation, with respect to (Wh, Wx, b):
        chainrule and JAX with lax.scan under jit(grad); PyTorch with a Python loop.

Rows: "chainrule jit" (the base of the ratio column); "chainrule" without jit (W1, W3, W9, to
show what jit buys); "JAX jit"; "torch.compile"; "PyTorch eager" (torch.func, W3 and W9); NumPy:
hand-written gradients (W1, W3, W9), the plain expression, numexpr and the copy floor (W4).

torch.compile uses the inductor backend; where inductor fails or its first call takes longer
than TORCH_COMPILE_LIMIT seconds, the row falls back to backend="eager", and the table says
which backend ran and how long the first call took. Every peer is optional; a peer that fails
to import prints "not installed" in its row, and a row that raises prints the error.

JAX runs with one intra-op thread (XLA_FLAGS, unless already set), like NumPy and PyTorch
under the thread variables below. Run from the repository root:

    pip install -e ".[bench]"
    env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        python bench/bench_jit.py [--quick] [--cpu-time] [--only W1,W9]

--quick takes fewer, shorter rounds; --cpu-time times the rounds with the process's CPU time
(steadier when other work shares the machine; first results stay wall-clock); --only runs some
of the workloads (to rerun a missed target).
"""

from __future__ import annotations

import gc
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import W1_ITERATIONS, W1_SIZE, w1, w1_grad_hand  # noqa: E402
from harness import (import_chainrule, import_jax, import_torch, one_line,  # noqa: E402
                     parse_args, print_header, print_table, relative_error, run_workload,
                     verdict)

W3_SIZES = (784, 512, 512, 10)
W3_BATCH = 128
W3_LR = 0.1
W4_SHAPE = (5000, 5000)
W7_ITERATIONS = 250  # 4 elementwise operations each
W7_SIZE = 1000
W9_HIDDEN, W9_INPUT, W9_STEPS, W9_BATCH = 128, 32, 100, 16
TORCH_COMPILE_LIMIT = 240.0
FLOAT32_TOLERANCE = 1e-3
FLOAT64_TOLERANCE = 1e-8
BASE = "chainrule jit"
TARGETS = {
    "W1": "chainrule jit <= 1.0 x JAX jit",
    "W3": "chainrule jit <= 1.0 x JAX jit",
    "W4": "chainrule jit <= 1.5 x NumPy copy of the same array",
    "W7": "chainrule jit time to first result <= 0.2 x JAX jit's",
    "W9": "chainrule jit <= 1.0 x JAX jit",
}


# ---------------------------------------------------------------------------------------------
# Helpers.


def pre_converted(fn: Callable, arg, convert: Callable) -> Callable:
    """fn(convert(a)), with the conversion of `arg` (the argument the benchmark passes) done
    once here rather than inside the timing."""
    converted = convert(arg)
    return lambda a: fn(converted if a is arg else convert(a))


def tree_leaves(tree) -> list:
    """The leaves of nested lists/tuples, depth first."""
    if isinstance(tree, (list, tuple)):
        return [leaf for sub in tree for leaf in tree_leaves(sub)]
    return [tree]


def tree_map(fn: Callable, tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(fn, sub) for sub in tree)
    return fn(tree)


def leafwise(reference_leaves: list[np.ndarray]) -> tuple[Callable, np.ndarray]:
    """A (result, reference) pair for run_workload that compares a pytree leaf by leaf: every
    leaf is divided by its reference's largest magnitude, so the reported relative error is
    the worst of the leaves' (a small leaf, a bias gradient, is not hidden by a large one)."""
    scales = [float(np.max(np.abs(r))) or 1.0 for r in reference_leaves]

    def result(out):
        leaves = [np.asarray(as_numpy(o), dtype=np.float64) for o in tree_leaves(out)]
        if len(leaves) != len(scales):
            raise ValueError(f"{len(leaves)} result leaves, expected {len(scales)}")
        return np.concatenate([(leaf / s).ravel() for leaf, s in zip(leaves, scales)])

    reference = np.concatenate([(r / s).ravel() for r, s in zip(reference_leaves, scales)])
    return result, reference


def as_numpy(x):
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    return np.asarray(x)


class _CompileTimeout(Exception):
    pass


def torch_compiled(torch, fn: Callable, first_call: Callable) -> tuple[Callable | str, str]:
    """torch.compile(fn) with inductor, run once through first_call(compiled); on failure or
    past TORCH_COMPILE_LIMIT seconds, torch.compile(fn, backend="eager") instead.

    Returns (the compiled callable, or a failure note for the row; a note on the backend)."""

    def alarm(signum, frame):
        raise _CompileTimeout(f"first call took more than {TORCH_COMPILE_LIMIT:g} s")

    attempts = (("inductor", {}), ("eager", {"backend": "eager"}))
    failures = []
    for label, kwargs in attempts:
        old = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, TORCH_COMPILE_LIMIT)
        start = time.perf_counter()
        try:
            compiled = torch.compile(fn, **kwargs)
            first_call(compiled)
            seconds = time.perf_counter() - start
            note = (f"torch.compile backend: {label}, first call (compiling) {seconds:.1f} s; "
                    "inductor's on-disk cache may hold earlier runs")
            if failures:
                note += f" ({'; '.join(failures)})"
            return compiled, note
        except Exception as error:
            failures.append(f"{label} {one_line(error, 100)}")
            torch._dynamo.reset()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return f"failed: {'; '.join(failures)}", "torch.compile failed"


def checkout_state() -> str:
    """The git commit of this checkout, and whether chainrule/ has uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "chainrule"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    if not commit:
        return "unknown (not a git checkout)"
    return commit + (" with uncommitted changes under chainrule/" if dirty else "")


def _torch_rows(libs, name: str, build: Callable) -> tuple[dict, list[str]]:
    """Rows from build(torch) -> (impls dict, footnotes), or each row's import note."""
    if libs["torch"][0] is None:
        return {name: libs["torch"][1]}, []
    return build(libs["torch"][0])


# ---------------------------------------------------------------------------------------------
# W1: jit(grad) of 100 elementwise operations.


def make_w1_impls(libs: dict, x: np.ndarray) -> tuple[dict, list[str]]:
    impls: dict[str, Callable | str] = {}
    notes: list[str] = []
    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        impls[BASE] = cr.jit(cr.grad(lambda x: w1(cnp, x)))
        impls["chainrule"] = cr.grad(lambda x: w1(cnp, x))
    else:
        impls[BASE] = impls["chainrule"] = libs["chainrule"][1]

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        jax_grad = jax.jit(jax.grad(lambda x: w1(jnp, x)))
        impls["JAX jit"] = pre_converted(lambda x: jax_grad(x).block_until_ready(), x,
                                         jnp.asarray)
    else:
        impls["JAX jit"] = libs["jax"][1]

    def torch_rows(torch):
        grad = torch.func.grad(lambda x: w1(torch, x))
        x_t = torch.from_numpy(x)
        compiled, note = torch_compiled(torch, grad, lambda c: c(x_t))
        rows = {"torch.compile": compiled if isinstance(compiled, str)
                else pre_converted(compiled, x, torch.from_numpy)}
        return rows, [note]

    rows, notes = _torch_rows(libs, "torch.compile", torch_rows)
    impls.update(rows)
    impls["hand NumPy"] = w1_grad_hand
    return impls, notes


# ---------------------------------------------------------------------------------------------
# W3: an MLP training step.


def w3_loss(np_like, params, x, y_onehot):
    """Mean cross-entropy of a tanh MLP's log-softmax against one-hot labels."""
    h = x
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = np_like.tanh(h)
    z = h - np_like.max(h, axis=1, keepdims=True)
    log_p = z - np_like.log(np_like.sum(np_like.exp(z), axis=1, keepdims=True))
    return -np_like.mean(np_like.sum(y_onehot * log_p, axis=1))


def w3_step_hand(params, x, y_onehot, lr=W3_LR):
    """Hand-written step: forward keeping activations, backward, SGD update (dtype of x)."""
    acts = [x]
    h = x
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = np.tanh(h)
        acts.append(h)
    z = h - h.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.sum(y_onehot * (z - np.log(s)), axis=1))
    delta = (e / s * y_onehot.sum(axis=1, keepdims=True) - y_onehot) / x.shape[0]
    new = [None] * len(params)
    for i in reversed(range(len(params))):
        W, b = params[i]
        new[i] = (W - lr * (acts[i].T @ delta), b - lr * delta.sum(axis=0))
        if i > 0:
            delta = (delta @ W.T) * (1.0 - acts[i] * acts[i])
    return new, loss


def make_w3_impls(libs: dict, params, x, y) -> tuple[dict, list[str]]:
    impls: dict[str, Callable | str] = {}
    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]

        def cr_step(params, x, y):
            loss, grads = cr.value_and_grad(lambda p: w3_loss(cnp, p, x, y))(params)
            new = [(W - W3_LR * gW, b - W3_LR * gb) for (W, b), (gW, gb) in zip(params, grads)]
            return new, loss

        cr_step_jit = cr.jit(cr_step)
        impls[BASE] = lambda p: cr_step_jit(p, x, y)
        impls["chainrule"] = lambda p: cr_step(p, x, y)
    else:
        impls[BASE] = impls["chainrule"] = libs["chainrule"][1]

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]

        def jax_step(params, x, y):
            loss, grads = jax.value_and_grad(lambda p: w3_loss(jnp, p, x, y))(params)
            new = [(W - W3_LR * gW, b - W3_LR * gb) for (W, b), (gW, gb) in zip(params, grads)]
            return new, loss

        jax_step_jit = jax.jit(jax_step)
        x_j, y_j = jnp.asarray(x), jnp.asarray(y)
        impls["JAX jit"] = pre_converted(
            lambda p: jax.block_until_ready(jax_step_jit(p, x_j, y_j)), params,
            lambda p: tree_map(jnp.asarray, p))
    else:
        impls["JAX jit"] = libs["jax"][1]

    def torch_rows(torch):
        x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)

        def loss_t(params):
            h = x_t
            for i, (W, b) in enumerate(params):
                h = h @ W + b
                if i < len(params) - 1:
                    h = torch.tanh(h)
            z = h - h.amax(dim=1, keepdim=True)
            log_p = z - torch.log(torch.exp(z).sum(dim=1, keepdim=True))
            return -(y_t * log_p).sum(dim=1).mean()

        def step_t(params):
            grads, loss = torch.func.grad_and_value(loss_t)(params)
            new = [(W - W3_LR * gW, b - W3_LR * gb) for (W, b), (gW, gb) in zip(params, grads)]
            return new, loss

        params_t = tree_map(torch.from_numpy, params)
        compiled, note = torch_compiled(torch, step_t, lambda c: c(params_t))
        rows = {
            "torch.compile": compiled if isinstance(compiled, str)
            else pre_converted(compiled, params, lambda p: tree_map(torch.from_numpy, p)),
            "PyTorch eager": pre_converted(step_t, params, lambda p: tree_map(torch.from_numpy, p)),
        }
        return rows, [note]

    rows, notes = _torch_rows(libs, "torch.compile", torch_rows)
    impls.update(rows)
    impls["hand NumPy"] = lambda p: w3_step_hand(p, x, y)
    return impls, notes


def w3_check(params, x, y) -> tuple[Callable, np.ndarray]:
    """Compare a step's gradients (recovered as (p - p_new) / lr) and loss with a float64
    hand-written step, leaf by leaf."""
    params64 = tree_map(lambda a: a.astype(np.float64), params)
    new64, loss64 = w3_step_hand(params64, x.astype(np.float64), y.astype(np.float64))
    old = [np.asarray(p, dtype=np.float64) for p in tree_leaves(params)]
    ref_grads = [(p - q) / W3_LR for p, q in zip(tree_leaves(params64), tree_leaves(new64))]
    compare, reference = leafwise(ref_grads + [np.asarray(loss64)])

    def result(out):
        new, loss = out
        new_leaves = [np.asarray(as_numpy(q), dtype=np.float64) for q in tree_leaves(new)]
        if len(new_leaves) != len(old):
            raise ValueError(f"{len(new_leaves)} parameters returned, expected {len(old)}")
        return compare([(p - q) / W3_LR for p, q in zip(old, new_leaves)] + [as_numpy(loss)])

    return result, reference


# ---------------------------------------------------------------------------------------------
# W4: a memory-bound elementwise kernel.


def make_w4_impls(libs: dict, x: np.ndarray) -> tuple[dict, list[str]]:
    impls: dict[str, Callable | str] = {}
    if libs["chainrule"][0] is not None:
        cr, _ = libs["chainrule"][0]
        impls[BASE] = cr.jit(lambda x: x * x + x * 2.0)
    else:
        impls[BASE] = libs["chainrule"][1]

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        jax_f = jax.jit(lambda x: x * x + x * 2.0)
        impls["JAX jit"] = pre_converted(lambda x: jax_f(x).block_until_ready(), x,
                                         jax.device_put)
    else:
        impls["JAX jit"] = libs["jax"][1]

    def torch_rows(torch):
        x_t = torch.from_numpy(x)
        compiled, note = torch_compiled(torch, lambda x: x * x + x * 2.0, lambda c: c(x_t))
        rows = {"torch.compile": compiled if isinstance(compiled, str)
                else pre_converted(compiled, x, torch.from_numpy)}
        return rows, [note]

    rows, notes = _torch_rows(libs, "torch.compile", torch_rows)
    impls.update(rows)
    impls["NumPy"] = lambda x: x * x + x * 2.0
    try:
        import numexpr

        two = np.float32(2.0)  # a float64 literal would make numexpr compute in float64
        impls["numexpr"] = lambda x: numexpr.evaluate("x * x + x * two",
                                                      local_dict={"x": x, "two": two})
        notes.append(f"numexpr {numexpr.__version__}, {numexpr.get_num_threads()} thread(s)")
    except ImportError:
        impls["numexpr"] = "not installed"
    impls["NumPy copy"] = lambda x: x.copy()
    return impls, notes


def float32_result(out) -> np.ndarray:
    """W4 results must stay float32 (a float64 result would move twice the bytes)."""
    out = as_numpy(out)
    if out.dtype != np.float32:
        raise TypeError(f"result dtype {out.dtype}, expected float32")
    return np.asarray(out, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# W7: compile time of a long elementwise chain.


def make_w7(np_like) -> Callable:
    """A fresh function object: W1's loop body W7_ITERATIONS times, unrolled when traced."""

    def f(x):
        for i in range(W7_ITERATIONS):
            if i % 2 == 0:
                x = np_like.sin(x) * 0.9 + np_like.tanh(x)
            else:
                x = np_like.cos(x) + np_like.exp(x) * 0.1
        return x

    return f


def make_w7_first(libs: dict, x: np.ndarray) -> dict[str, Callable | str]:
    """Row -> callable that jits a fresh function and returns its first result."""
    firsts: dict[str, Callable | str] = {}
    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        firsts[BASE] = lambda: cr.jit(make_w7(cnp))(x)
    else:
        firsts[BASE] = libs["chainrule"][1]

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        x_j = jnp.asarray(x)
        firsts["JAX jit"] = lambda: jax.jit(make_w7(jnp))(x_j).block_until_ready()
    else:
        firsts["JAX jit"] = libs["jax"][1]

    if libs["torch"][0] is not None:
        torch = libs["torch"][0]
        from torch._inductor.utils import fresh_cache

        x_t = torch.from_numpy(x)
        kept = []

        def torch_first():
            # dynamo caches per code object, inductor on disk and in memory: start afresh
            torch._dynamo.reset()
            with fresh_cache():
                compiled = torch.compile(make_w7(torch))
                out = compiled(x_t)
            kept[:] = [compiled]
            return out

        firsts["torch.compile"] = torch_first
        firsts["torch.compile"].kept = kept
    else:
        firsts["torch.compile"] = libs["torch"][1]
    return firsts


def run_first_results(title: str, firsts: dict, reference: np.ndarray, measurements: int
                      ) -> dict[str, float]:
    """Check each row's first result (that call also warms up the library), then time
    `measurements` first results per row, interleaved; print the table of medians."""
    notes: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, first in firsts.items():
        if isinstance(first, str):
            notes[name] = first
            continue
        try:
            rel_err = relative_error(as_numpy(first()), reference)
            wrong = not rel_err <= FLOAT64_TOLERANCE
            errors[name] = f"{rel_err:.1e}" + ("  WRONG" if wrong else "")
        except Exception as error:
            notes[name] = one_line(error)
    samples: dict[str, list[float]] = {name: [] for name in firsts if name not in notes}
    for _ in range(measurements):
        for name in list(samples):
            gc.collect()
            start = time.perf_counter()
            try:
                firsts[name]()
            except Exception as error:
                notes[name] = one_line(error)
                del samples[name]
                continue
            samples[name].append(time.perf_counter() - start)
    return print_table(title, firsts, samples, notes, errors, BASE, unit="first result",
                       footnote=[f"({measurements} measurements per row, each jitting a fresh "
                                 "function object; spread over those;",
                                 " wall-clock even under --cpu-time: inductor compiles in worker "
                                 "processes)"])


def make_w7_steady(libs: dict, x: np.ndarray, firsts: dict) -> dict[str, Callable | str]:
    impls: dict[str, Callable | str] = {}
    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        impls[BASE] = cr.jit(make_w7(cnp))
    else:
        impls[BASE] = libs["chainrule"][1]
    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        jax_f = jax.jit(make_w7(jnp))
        impls["JAX jit"] = pre_converted(lambda x: jax_f(x).block_until_ready(), x, jnp.asarray)
    else:
        impls["JAX jit"] = libs["jax"][1]
    torch_first = firsts.get("torch.compile")
    if callable(torch_first) and torch_first.kept:
        torch = libs["torch"][0]
        impls["torch.compile"] = pre_converted(torch_first.kept[0], x, torch.from_numpy)
    else:
        impls["torch.compile"] = "not measured (no compiled function)"
    impls["NumPy"] = make_w7(np)
    return impls


# ---------------------------------------------------------------------------------------------
# W9: gradient of an RNN through scan.


def w9_loss_scan(np_like, scan, params, xs, h0):
    """sum(h_T ** 2) after scanning h' = tanh(h Wh + x_t Wx + b) over xs."""
    Wh, Wx, b = params

    def cell(h, x_t):
        return np_like.tanh(h @ Wh + x_t @ Wx + b), None

    h, _ = scan(cell, h0, xs)
    return np_like.sum(h * h)


def w9_grad_hand(params, xs, h0):
    """Back-propagation through time, by hand."""
    Wh, Wx, b = params
    hs = [h0]
    for x_t in xs:
        hs.append(np.tanh(hs[-1] @ Wh + x_t @ Wx + b))
    g_Wh, g_Wx, g_b = np.zeros_like(Wh), np.zeros_like(Wx), np.zeros_like(b)
    dh = 2.0 * hs[-1]
    for t in reversed(range(len(xs))):
        da = dh * (1.0 - hs[t + 1] * hs[t + 1])
        g_Wh += hs[t].T @ da
        g_Wx += xs[t].T @ da
        g_b += da.sum(axis=0)
        dh = da @ Wh.T
    return g_Wh, g_Wx, g_b


def make_w9_impls(libs: dict, params, xs, h0) -> tuple[dict, list[str]]:
    impls: dict[str, Callable | str] = {}
    if libs["chainrule"][0] is not None:
        cr, cnp = libs["chainrule"][0]
        grad = cr.grad(lambda p, xs, h0: w9_loss_scan(cnp, cr.lax.scan, p, xs, h0))
        grad_jit = cr.jit(grad)
        impls[BASE] = lambda p: grad_jit(p, xs, h0)
        impls["chainrule"] = lambda p: grad(p, xs, h0)
    else:
        impls[BASE] = impls["chainrule"] = libs["chainrule"][1]

    if libs["jax"][0] is not None:
        jax, jnp = libs["jax"][0]
        jax_grad = jax.jit(jax.grad(
            lambda p, xs, h0: w9_loss_scan(jnp, jax.lax.scan, p, xs, h0)))
        xs_j, h0_j = jnp.asarray(xs), jnp.asarray(h0)
        impls["JAX jit"] = pre_converted(
            lambda p: jax.block_until_ready(jax_grad(p, xs_j, h0_j)), params,
            lambda p: tree_map(jnp.asarray, p))
    else:
        impls["JAX jit"] = libs["jax"][1]

    def torch_rows(torch):
        xs_t, h0_t = torch.from_numpy(xs), torch.from_numpy(h0)

        def loss_t(params):
            Wh, Wx, b = params
            h = h0_t
            for t in range(xs_t.shape[0]):
                h = torch.tanh(h @ Wh + xs_t[t] @ Wx + b)
            return (h * h).sum()

        grad_t = torch.func.grad(loss_t)
        params_t = tree_map(torch.from_numpy, params)
        compiled, note = torch_compiled(torch, grad_t, lambda c: c(params_t))
        convert = lambda p: tree_map(torch.from_numpy, p)  # noqa: E731
        rows = {
            "torch.compile": compiled if isinstance(compiled, str)
            else pre_converted(compiled, params, convert),
            "PyTorch eager": pre_converted(grad_t, params, convert),
        }
        return rows, [note]

    rows, notes = _torch_rows(libs, "torch.compile", torch_rows)
    impls.update(rows)
    impls["hand NumPy"] = lambda p: w9_grad_hand(p, xs, h0)
    return impls, notes


# ---------------------------------------------------------------------------------------------


def run_w1(libs: dict, args) -> list[tuple[str, dict, str, float]]:
    x = np.random.default_rng(1).normal(size=W1_SIZE)
    impls, notes = make_w1_impls(libs, x)
    results = run_workload(
        f"W1: jit(grad) of {4 * W1_ITERATIONS} elementwise ops + sum, x float64[{W1_SIZE}]",
        impls, x, w1_grad_hand(x), args, base=BASE, faults=True,
        tolerance=FLOAT64_TOLERANCE, footnote=notes)
    return [("W1 vs JAX jit", results, "JAX jit", 1.0)]


def run_w3(libs: dict, args) -> list[tuple[str, dict, str, float]]:
    rng = np.random.default_rng(3)
    sizes = W3_SIZES
    params = [(rng.normal(size=(m, n)).astype(np.float32) / np.float32(np.sqrt(m)),
               np.zeros(n, np.float32)) for m, n in zip(sizes[:-1], sizes[1:])]
    x = rng.normal(size=(W3_BATCH, sizes[0])).astype(np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], W3_BATCH)]
    impls, notes = make_w3_impls(libs, params, x, y)
    result, reference = w3_check(params, x, y)
    results = run_workload(
        f"W3: MLP training step (value_and_grad + SGD), float32 "
        f"{'-'.join(map(str, sizes))}, batch {W3_BATCH}",
        impls, params, reference, args, base=BASE, faults=True, tolerance=FLOAT32_TOLERANCE,
        result=result, footnote=notes + [
            "(rel. error: gradients recovered from the update, and the loss, against a "
            "float64 hand-written step)"])
    return [("W3 vs JAX jit", results, "JAX jit", 1.0)]


def run_w4(libs: dict, args) -> list[tuple[str, dict, str, float]]:
    x = np.random.default_rng(4).normal(size=W4_SHAPE).astype(np.float32)
    impls, notes = make_w4_impls(libs, x)
    reference = x.astype(np.float64)
    reference = reference * reference + reference * 2.0
    results = run_workload(
        f"W4: x * x + x * 2.0, x float32[{W4_SHAPE[0]}, {W4_SHAPE[1]}]",
        impls, x, reference, args, base=BASE, faults=True, tolerance=FLOAT32_TOLERANCE,
        result=float32_result, unchecked=("NumPy copy",), footnote=notes)
    return [("W4 vs NumPy copy", results, "NumPy copy", 1.5)]


def run_w7(libs: dict, args) -> list[tuple[str, dict, str, float]]:
    x = np.random.default_rng(7).normal(size=W7_SIZE)
    reference = make_w7(np)(x)
    firsts = make_w7_first(libs, x)
    first = run_first_results(
        f"W7: time to first result of jit, {4 * W7_ITERATIONS} unrolled elementwise ops, "
        f"x float64[{W7_SIZE}]", firsts, reference, 3 if args.quick else 5)
    run_workload(
        f"W7: steady state of the same jitted function, x float64[{W7_SIZE}]",
        make_w7_steady(libs, x, firsts), x, reference, args, base=BASE, faults=True,
        tolerance=FLOAT64_TOLERANCE)
    return [("W7 first result vs JAX jit", first, "JAX jit", 0.2)]


def run_w9(libs: dict, args) -> list[tuple[str, dict, str, float]]:
    rng = np.random.default_rng(9)
    H, D, T, B = W9_HIDDEN, W9_INPUT, W9_STEPS, W9_BATCH
    params = (rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(D, H)) / np.sqrt(D),
              rng.normal(size=H) * 0.1)
    xs = rng.normal(size=(T, B, D))
    h0 = np.zeros((B, H))
    impls, notes = make_w9_impls(libs, params, xs, h0)
    result, reference = leafwise(list(w9_grad_hand(params, xs, h0)))
    results = run_workload(
        f"W9: grad of a tanh RNN via scan, float64, hidden {H}, input {D}, {T} steps, "
        f"batch {B}",
        impls, params, reference, args, base=BASE, faults=True, tolerance=FLOAT64_TOLERANCE,
        result=result, footnote=notes + ["(rel. error: worst of the three gradients, each "
                                         "relative to its largest entry)"])
    return [("W9 vs JAX jit", results, "JAX jit", 1.0)]


WORKLOADS = {"W1": run_w1, "W3": run_w3, "W4": run_w4, "W7": run_w7, "W9": run_w9}


def _only(parser) -> None:
    parser.add_argument("--only", default=",".join(WORKLOADS),
                        help="comma-separated workloads to run (default: all of "
                             f"{','.join(WORKLOADS)}), e.g. to rerun a missed target")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv, configure=_only)
    chosen = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"--only: unknown workload(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(WORKLOADS)}")
    libs = {
        "chainrule": import_chainrule("jit"),
        "jax": import_jax(one_thread=True),
        "torch": import_torch(func=True),
    }
    extra = []
    if libs["chainrule"][0] is not None:
        from chainrule.compiler.config import options

        extra.append(f"chainrule compiler: fusion={options.fusion} kernel={options.kernel!r} "
                     f"numexpr_min_size={options.numexpr_min_size}")
    extra.append(f"checkout: {checkout_state()}")
    print_header("chainrule jit benchmark", libs, args,
                 {w: TARGETS[w] for w in WORKLOADS if w in chosen}, machine=True, extra=extra)
    verdicts = []
    for name, run in WORKLOADS.items():
        if name in chosen:
            verdicts += run(libs, args)
            gc.collect()

    print("\ntargets:")
    for label, results, peer, bound in verdicts:
        verdict(label, results, peer, bound, base=BASE)
    print("  (medians of interleaved rounds on a shared machine; compare the spreads above)")


if __name__ == "__main__":
    main()

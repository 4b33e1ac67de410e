"""Shared machinery of the benchmark scripts (bench_core.py, bench_vmap.py, bench_jit.py).

Not a test and not part of the library. The contract the scripts rely on:
- `import_*` import chainrule and the optional peers; each returns (module(s) or None, message),
  where the message is a version string, or "not installed" / "import failed: ..." for a row
  that cannot run. Nothing here raises because a peer is missing.
- `choose_loops` warms a callable up and picks an inner loop count so that one round lasts
  about `round_seconds`; `time_round` times one round with the garbage collector paused and
  counts the minor page faults per call (fresh memory touched by the call).
- `run_workload` checks every implementation against a reference result before timing it,
  runs the rounds interleaved across implementations (round r of every row, then round r + 1,
  so a change in machine load hits every row alike), and prints the table: median per call,
  ratio base / row, spread of the rounds, optionally page faults, relative error.
- `verdict` prints one target line from the medians; `print_header` the versions, thread
  settings and OPENBLAS_CORETYPE state; `parse_args` the common flags: `--quick`, and
  `--cpu-time` (rounds timed with the process's CPU time: on a machine shared with other
  work, time spent descheduled does not count; waiting does not count either).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
JAX_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


# ---------------------------------------------------------------------------------------------
# Optional imports: each returns (module-ish object or None, message for the table).


def import_chainrule(required: str = "grad"):
    """Import chainrule and chainrule.numpy, from the installed package or this checkout.

    `required` names an attribute chainrule must have for the script to make sense."""
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
    if not hasattr(cr, required):
        return None, f"import failed: chainrule has no `{required}` yet"
    return (cr, cnp), getattr(cr, "__version__", "checkout")


def import_autograd():
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None, "not installed"
    from importlib.metadata import version

    return (autograd, anp), version("autograd")


def import_jax(one_thread: bool = False):
    """Import JAX with x64 enabled; one_thread: one XLA intra-op thread (XLA_FLAGS, unless
    already set), like NumPy and PyTorch under the thread variables."""
    if one_thread:
        os.environ.setdefault("XLA_FLAGS", JAX_ONE_THREAD)
    try:
        import jax
    except ImportError:
        return None, "not installed"
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return (jax, jnp), jax.__version__


def import_torch(func: bool = False):
    """Import PyTorch (and torch.func when func is true)."""
    try:
        import torch

        if func:
            import torch.func  # noqa: F401
    except ImportError:
        return None, "not installed"
    return torch, torch.__version__


# ---------------------------------------------------------------------------------------------
# Timing.


def choose_loops(fn: Callable, arg, round_seconds: float, warmup: int,
                 clock: Callable[[], float] = time.perf_counter) -> int:
    """Warm fn up, then pick a number of calls that makes one round last about round_seconds."""
    for _ in range(warmup):
        fn(arg)
    loops = 1
    while True:
        start = clock()
        for _ in range(loops):
            fn(arg)
        elapsed = clock() - start
        if elapsed >= round_seconds / 2 or loops >= 1 << 20:
            return loops
        loops *= 2 if elapsed <= 0 else max(2, min(10, int(round_seconds / elapsed)))


def minor_faults() -> int:
    """Minor page faults of this process so far (0 where getrusage is unavailable)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_round(fn: Callable, arg, loops: int,
               clock: Callable[[], float] = time.perf_counter) -> tuple[float, float]:
    """Seconds per call over one round of `loops` calls, with the garbage collector paused,
    and the minor page faults per call (fresh memory touched: large temporaries that the C
    allocator maps and unmaps on every call show up here)."""
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        faults = minor_faults()
        start = clock()
        for _ in range(loops):
            fn(arg)
        seconds = (clock() - start) / loops
        return seconds, (minor_faults() - faults) / loops
    finally:
        if gc_was_enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Formatting and checking.


def format_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:8.3f} ms"
    return f"{seconds:8.3f} s "


def one_line(error: BaseException, limit: int = 160) -> str:
    """A failure note for a table row: the error's type and message on one short line."""
    text = " ".join(str(error).split())
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return f"failed: {type(error).__name__}: {text}"


def as_array(out) -> np.ndarray:
    """A result as one float64 NumPy array: arrays (NumPy, JAX, torch) convert as they are;
    a tuple/list/dict of them becomes the concatenation of their flattened leaves (dicts in
    key order), so a pytree result is compared leaf by leaf."""
    if isinstance(out, dict):
        out = [out[k] for k in sorted(out)]
    if isinstance(out, (list, tuple)):
        parts = [as_array(o).ravel() for o in out]
        return np.concatenate(parts) if parts else np.zeros(0)
    if hasattr(out, "detach"):  # a torch tensor
        out = out.detach().cpu()
    return np.asarray(out, dtype=np.float64)


def relative_error(out, reference: np.ndarray) -> float:
    """max |out - reference| / max |reference|; raises ValueError on a shape mismatch."""
    out = as_array(out)
    if out.shape != reference.shape:
        raise ValueError(f"result of shape {out.shape}, expected {reference.shape}")
    return float(np.max(np.abs(out - reference)) / np.max(np.abs(reference)))


def print_table(title: str, names: Iterable[str], samples: dict[str, list[float]],
                notes: dict[str, str], errors: dict[str, str], base: str,
                faults: dict[str, list[float]] | None = None, unit: str = "median/call",
                footnote: Iterable[str] = ()) -> dict[str, float]:
    """Print one workload's table; returns the median of each timed row.

    Rows in `notes` print their note (not installed, failed: ...) instead of numbers; the
    ratio column is median(base) / median(row); faults (when given) adds a page-fault column.
    """
    print(f"\n{title}")
    width = max(14, len(base) + 5)
    header = (
        f"  {'implementation':<16} {unit:>12}  {base + '/this':>{width}}  {'spread':>7}  "
        + (f"{'faults':>7}  " if faults is not None else "")
        + "rel. error"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    results = {name: statistics.median(times) for name, times in samples.items() if times}
    base_time = results.get(base)
    for name in names:
        if name in notes or name not in results:
            print(f"  {name:<16} {notes.get(name, 'not measured')}")
            continue
        times = samples[name]
        spread = (max(times) - min(times)) / results[name]
        ratio = (f"{base_time / results[name]:{width}.2f}" if base_time is not None
                 else f"{'n/a':>{width}}")
        fault_col = f"{statistics.median(faults[name]):7.0f}  " if faults is not None else ""
        print(
            f"  {name:<16} {format_seconds(results[name]):>12}  {ratio}  "
            f"{spread:6.0%}  {fault_col}{errors[name]}"
        )
    print("  (spread: (slowest - fastest round) / median; large values mean a noisy machine"
          + (";" if faults is not None else ")"))
    if faults is not None:
        print("   faults: minor page faults per call, memory the call touched for the first time)")
    for line in footnote:
        print(f"  {line}")
    return results


def run_workload(title: str, impls: dict, arg, reference: np.ndarray, args, *,
                 base: str = "chainrule", faults: bool = False, tolerance: float | None = None,
                 result: Callable = as_array, unchecked: Iterable[str] = (),
                 footnote: Iterable[str] = ()) -> dict[str, float]:
    """Check each implementation against the reference, time it, print the table.

    Args:
      impls: row name -> callable of `arg`, or a string (the note of a row that cannot run).
      reference: the expected `result(impl(arg))`.
      base: the row the ratio column divides by.
      faults: print the page-fault column.
      tolerance: mark rows whose relative error exceeds it as WRONG (None: no marking).
      result: maps an implementation's output to the array compared with the reference.
      unchecked: rows that do not compute the workload (a bandwidth floor): timed, not checked.
    Returns:
      The median seconds per call of every row that ran.

    Rounds are interleaved (round r of every implementation, then round r + 1), so a change
    in machine load during the run affects every row alike rather than skewing the ratios.
    """
    unchecked = set(unchecked)
    clock = getattr(args, "clock", time.perf_counter)
    notes: dict[str, str] = {}
    errors: dict[str, str] = {}
    loops: dict[str, int] = {}
    for name, impl in impls.items():
        if isinstance(impl, str):
            notes[name] = impl
            continue
        try:
            if name in unchecked:
                impl(arg)
                errors[name] = "(floor, not checked)"
            else:
                rel_err = relative_error(result(impl(arg)), reference)
                wrong = tolerance is not None and not rel_err <= tolerance
                errors[name] = f"{rel_err:.1e}" + ("  WRONG" if wrong else "")
            loops[name] = choose_loops(impl, arg, args.round_seconds, args.warmup, clock)
        except Exception as error:  # a broken row must not hide the others
            notes[name] = one_line(error)
    samples: dict[str, list[float]] = {name: [] for name in loops}
    page_faults: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name in list(samples):
            try:
                seconds, per_call = time_round(impls[name], arg, loops[name], clock)
                samples[name].append(seconds)
                page_faults[name].append(per_call)
            except Exception as error:
                notes[name] = one_line(error)
                del samples[name]
    return print_table(title, impls, samples, notes, errors, base,
                       page_faults if faults else None, footnote=footnote)


def verdict(label: str, results: dict[str, float], peer: str, bound: float,
            base: str = "chainrule") -> bool | None:
    """Print `label: base/peer = ratio (target <= bound) -> MET | NOT MET`; returns whether it
    was met (None when a row is missing)."""
    if base not in results or peer not in results:
        print(f"  {label}: not measured ({base} or {peer} missing)")
        return None
    ratio = results[base] / results[peer]
    met = ratio <= bound
    print(f"  {label}: {base}/{peer} = {ratio:.2f} (target <= {bound:g}) -> "
          f"{'MET' if met else 'NOT MET'}")
    return met


# ---------------------------------------------------------------------------------------------
# Header and arguments.


def print_header(title: str, libs: dict, args, targets: dict[str, str], *,
                 machine: bool = False, extra: Iterable[str] = ()) -> None:
    """The run's context: Python, NumPy and peer versions, thread variables, the
    OPENBLAS_CORETYPE state, thread pools, timing settings and the targets.

    machine: also the processor, XLA_FLAGS, MALLOC_* variables and JAX's devices.
    extra: further lines (already formatted, printed before the timing line)."""
    print(title)
    print(f"  python {platform.python_version()} on {platform.platform()}")
    if machine:
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
    if machine:
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
    if libs.get("torch", (None,))[0] is not None:
        print(f"  torch threads: {libs['torch'][0].get_num_threads()}")
    if machine and libs.get("jax", (None,))[0] is not None:
        jax = libs["jax"][0][0]
        print(f"  jax devices: {', '.join(str(d) for d in jax.devices())}")
    for line in extra:
        print(f"  {line}")
    print(f"  timing: {args.rounds} rounds, each >= ~{args.round_seconds:g} s, median per call"
          + (" (process CPU time, --cpu-time)" if getattr(args, "cpu_time", False) else ""))
    print("targets:")
    for label, text in targets.items():
        print(f"  {label}: {text}")


def parse_args(description: str, argv: list[str] | None,
               configure: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.Namespace:
    """`--quick`: 3 rounds of >= 0.05 s after 2 warm-up calls; else 7 of 0.2 s after 5.
    `--cpu-time`: rounds are timed with the process's CPU time (args.clock).
    configure(parser) may add a script's own arguments."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds")
    parser.add_argument(
        "--cpu-time", action="store_true",
        help="time rounds with the process's CPU time (all its threads) instead of wall-clock "
             "time: steadier on a shared machine, but blind to time spent waiting")
    if configure is not None:
        configure(parser)
    args = parser.parse_args(argv)
    args.clock = time.process_time if args.cpu_time else time.perf_counter
    if args.quick:
        args.rounds, args.round_seconds, args.warmup = 3, 0.05, 2
    else:
        args.rounds, args.round_seconds, args.warmup = 7, 0.2, 5
    return args

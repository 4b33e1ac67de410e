"""tanh and its first four derivatives, each computed by vmap(grad(...)) and plotted.

The derivatives are found by nesting `grad` (a scalar function of a scalar) and then mapping
the result over 200 points with `vmap`, so each curve is one batched evaluation rather than a
Python loop. The script checks every curve against its closed form before plotting.

    pip install ".[plot]"                     # matplotlib, an optional extra
    python examples/tanh_derivatives.py [out.png]

The plot is written to the path given on the command line, or to tanh_derivatives.png in the
current directory.
"""
from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

ORDERS = 4
LABELS = ["tanh(x)", "1st derivative", "2nd derivative", "3rd derivative", "4th derivative"]


def derivatives(x: np.ndarray, orders: int = ORDERS) -> list[np.ndarray]:
    """[tanh(x), tanh'(x), ..., the `orders`-th derivative] at every point of x."""
    curves = [cr.vmap(cnp.tanh)(x)]
    f = cnp.tanh
    for _ in range(orders):
        f = cr.grad(f)
        curves.append(cr.vmap(f)(x))
    return curves


def closed_forms(x: np.ndarray) -> list[np.ndarray]:
    """The same curves from the polynomials in t = tanh(x) (with s = 1 - t^2)."""
    t = np.tanh(x)
    s = 1.0 - t ** 2
    return [t, s, -2.0 * t * s, 2.0 * s * (3.0 * t ** 2 - 1.0), 8.0 * t * s * (2.0 - 3.0 * t ** 2)]


def main(argv: list[str]) -> int:
    out_path = argv[1] if len(argv) > 1 else "tanh_derivatives.png"
    x = np.linspace(-7.0, 7.0, 200)
    curves = derivatives(x)
    for k, (got, want) in enumerate(zip(curves, closed_forms(x))):
        err = float(np.max(np.abs(got - want)))
        print(f"order {k}: max |vmap(grad) - closed form| = {err:.1e}")
        if err > 1e-10:
            print(f"error: derivative of order {k} does not match its closed form")
            return 1
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed, so no plot was written. It is an optional extra: "
              "pip install \"chainrule[plot]\" (or pip install matplotlib).")
        return 0
    matplotlib.use("Agg")  # write a file; no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for curve, label in zip(curves, LABELS):
        ax.plot(x, curve, label=label, linewidth=1.8 if label == LABELS[0] else 1.2)
    ax.axhline(0.0, color="0.6", linewidth=0.6)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("x")
    ax.set_title("tanh and its derivatives by vmap(grad(...)) in chainrule")
    ax.legend(loc="upper right", fontsize=9)
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

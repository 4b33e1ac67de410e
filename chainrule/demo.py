"""Demo: logistic regression on scikit-learn's bundled breast-cancer data, trained with cr.grad.

Run with ``python -m chainrule.demo`` after ``pip install '.[demo]'``. The data set ships
inside scikit-learn, so nothing is downloaded. The demo trains by gradient descent, prints
the loss and the training accuracy, then checks the autodiff gradient at a random point
against the hand-derived formula and exits with status 1 if they disagree.
"""

from __future__ import annotations

import sys

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

STEPS = 200
PRINT_EVERY = 20
LEARNING_RATE = 0.5
GRAD_CHECK_TOL = 1e-10


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """Load the data set: standardized features with a bias column, labels in {-1, +1}."""
    try:
        from sklearn.datasets import load_breast_cancer
    except ImportError:
        print(
            "The demo needs scikit-learn, which is not installed.\n"
            "Install it with: pip install '.[demo]'",
            file=sys.stderr,
        )
        raise SystemExit(1)
    data = load_breast_cancer()
    features = np.asarray(data.data, dtype=np.float64)
    features = (features - features.mean(axis=0)) / features.std(axis=0)
    X = np.hstack([features, np.ones((features.shape[0], 1))])
    y = np.where(np.asarray(data.target) == 1, 1.0, -1.0)
    return X, y


def make_loss(X: np.ndarray, y: np.ndarray):
    """Return L(theta) = mean_i log(1 + exp(-y_i <theta, x_i>)), written with chainrule.numpy."""

    def loss(theta):
        margins = cnp.dot(X, theta) * y
        return cnp.mean(cnp.logaddexp(0.0, -margins))

    return loss


def hand_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of the loss by hand, in plain NumPy.

    mean_i(-y_i x_i e^{-m_i} / (1 + e^{-m_i})) with m_i = y_i <theta, x_i>; the factor
    e^{-m} / (1 + e^{-m}) is the logistic sigmoid of -m, evaluated in a stable form.
    """
    margins = y * (X @ theta)
    weights = np.exp(-np.logaddexp(0.0, margins))
    return (X * (-y * weights)[:, None]).mean(axis=0)


def main() -> None:
    X, y = load_data()
    n, d = X.shape
    print(f"breast-cancer data: {n} examples, {d} features (bias column included)")

    loss = make_loss(X, y)
    grad_loss = cr.grad(loss)

    theta = np.zeros(d)
    for step in range(STEPS + 1):
        if step % PRINT_EVERY == 0:
            print(f"step {step:4d}  loss {float(loss(theta)):.6f}")
        if step < STEPS:
            theta = theta - LEARNING_RATE * np.asarray(grad_loss(theta))

    accuracy = float(np.mean(np.sign(X @ theta) == y))
    print(f"training accuracy: {accuracy:.4f}")

    rng = np.random.default_rng(0)
    theta_check = rng.normal(size=d)
    g_auto = np.asarray(grad_loss(theta_check))
    g_hand = hand_gradient(theta_check, X, y)
    max_abs = float(np.max(np.abs(g_auto - g_hand)))
    relative = max_abs / max(float(np.max(np.abs(g_hand))), np.finfo(np.float64).tiny)
    print(
        f"gradient check at a random theta: max abs difference {max_abs:.3e} "
        f"(relative {relative:.3e}, tolerance {GRAD_CHECK_TOL:.0e})"
    )
    if relative > GRAD_CHECK_TOL:
        print("gradient check FAILED: autodiff and the hand formula disagree", file=sys.stderr)
        raise SystemExit(1)
    print("gradient check passed")


if __name__ == "__main__":
    main()

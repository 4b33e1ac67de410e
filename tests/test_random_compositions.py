"""Property-based tests: random compositions of covered functions, checked against finite
differences and Python loops.

Hypothesis draws a small program over a float64 vector x of length n: each step applies one
function from a pool (elementwise, broadcasting binary, shape manipulation, reductions that
broadcast back, products, linear algebra, special functions) to values computed earlier, and
the program returns sum(w * last value). Every pool entry is smooth on the whole real line
(no kinks, no branch cuts) so finite differences are meaningful anywhere. For each program:
  - check_grads order 2 in forward and reverse mode (finite differences in random directions
    and the JVP/VJP inner-product check), so grad, jvp and their compositions agree;
  - hessian equals the finite-difference Jacobian of grad, and is symmetric;
  - vmap(f) and vmap(grad(f)) equal Python loops over a batch;
  - jit(f) and grad(jit(f)) equal the eager results.
The draws are derandomized (a fixed seed per test), so CI is reproducible; a failure prints
the program.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.special as css
from chainrule.test_util import check_grads

N = 4  # vector length (a reshape to (2, 2) is possible)


def _mat(seed):
    return np.random.default_rng(seed).standard_normal((N, N)) / np.sqrt(N)


M1, M2 = _mat(1), _mat(2)
SPD = M1 @ M1.T + N * np.eye(N)

# name -> (arity, function on chainrule.numpy values of shape (N,))
UNARY = {
    "sin": cnp.sin, "cos": cnp.cos, "tanh": cnp.tanh, "arctan": cnp.arctan,
    "expit": css.expit, "erf": css.erf,
    "softplus": lambda a: cnp.logaddexp(0.0, a),
    "log1p_sq": lambda a: cnp.log1p(a * a),
    "sqrt_1p_sq": lambda a: cnp.sqrt(1.0 + a * a),
    "rational": lambda a: a / (1.0 + a * a),
    "exp_tanh": lambda a: cnp.exp(cnp.tanh(a)),
    "square": cnp.square,
    "gammaln": lambda a: css.gammaln(1.5 + a * a),
    "cumsum": cnp.cumsum,
    "flip": cnp.flip,
    "roll": lambda a: cnp.roll(a, 1),
    "transpose_2x2": lambda a: cnp.reshape(cnp.reshape(a, (2, 2)).T, (N,)),
    "center": lambda a: a - cnp.mean(a),
    "standardize": lambda a: (a - cnp.mean(a)) / cnp.sqrt(cnp.var(a) + 1.0),
    "softmax": css.softmax,
    "logsumexp_b": lambda a: a - css.logsumexp(a),
    "matvec": lambda a: M1 @ a,
    "rmatvec": lambda a: a @ M2,
    "einsum_quad": lambda a: cnp.einsum("i,ij,j->", a, M1, a) * cnp.ones(N),
    "outer_trace": lambda a: cnp.trace(cnp.outer(a, a)) * a / (1.0 + cnp.sum(a * a)),
    "concat_slice": lambda a: cnp.concatenate([a[2:], a[:2]]),
    "pad_slice": lambda a: cnp.pad(a, 1, mode="reflect")[1:-1],
    "stack_mean": lambda a: cnp.mean(cnp.stack([a, a * a]), axis=0),
    "sin_sum_bcast": lambda a: a * cnp.sin(cnp.sum(a)),
    "prod_bcast": lambda a: a * cnp.prod(1.0 + 0.1 * cnp.tanh(a)),
}
BINARY = {
    "add": cnp.add, "sub": cnp.subtract, "mul": cnp.multiply,
    "div": lambda a, b: a / (1.0 + b * b),
    "hypot1": lambda a, b: cnp.hypot(a, 1.0 + b * b),
    "logaddexp": cnp.logaddexp,
    "arctan2": lambda a, b: cnp.arctan2(a, 1.0 + b * b),
    "dot_bcast": lambda a, b: cnp.dot(a, b) * cnp.ones(N) / (1.0 + cnp.dot(a, a)),
    "where_smooth": lambda a, b: cnp.where(np.arange(N) % 2 == 0, a, b),
    "maximum_shift": lambda a, b: cnp.maximum(a, b + 100.0),  # never a tie
}


def _linalg_pool():
    """Linear-algebra steps, when chainrule.numpy.linalg provides them."""
    la = cnp.linalg
    pool = {}
    if hasattr(la, "solve"):
        pool["solve_spd"] = lambda a: la.solve(SPD + cnp.diag(a * a), a)
    if hasattr(la, "slogdet"):
        pool["slogdet"] = lambda a: la.slogdet(SPD + cnp.outer(a, a))[1] * cnp.ones(N)
    if hasattr(la, "inv"):
        pool["inv_diag"] = lambda a: cnp.diagonal(la.inv(SPD + cnp.diag(cnp.sin(a))))
    if hasattr(la, "norm"):
        pool["norm_1p"] = lambda a: a / la.norm(cnp.concatenate([a, cnp.ones(1)]))
    if hasattr(la, "cholesky"):
        pool["cholesky_diag"] = lambda a: cnp.diagonal(la.cholesky(SPD + cnp.outer(a, a)))
    return pool


UNARY.update(_linalg_pool())
STEPS = [(1, k) for k in sorted(UNARY)] + [(2, k) for k in sorted(BINARY)]


@st.composite
def programs(draw):
    """A list of steps (name, operand indices); value 0 is the input x."""
    n_steps = draw(st.integers(1, 5))
    steps = []
    for i in range(n_steps):
        arity, name = draw(st.sampled_from(STEPS))
        # prefer the latest value so programs are deep, not wide
        ops = tuple(draw(st.one_of(st.just(i), st.integers(0, i))) for _ in range(arity))
        steps.append((name, ops))
    return steps


def _run(steps, w):
    def f(x):
        vals = [x]
        for name, ops in steps:
            fn = UNARY[name] if len(ops) == 1 else BINARY[name]
            vals.append(fn(*[vals[j] for j in ops]))
        return cnp.sum(vals[-1] * w)
    return f


_W = np.random.default_rng(3).standard_normal(N)
_SETTINGS = dict(max_examples=40, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])
xs = st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=N, max_size=N).map(np.array)


@settings(**_SETTINGS)
@given(programs(), xs)
def test_gradients_of_random_programs_match_finite_differences(steps, x):
    f = _run(steps, _W)
    check_grads(f, (x,), order=2, modes=("fwd", "rev"), atol=1e-4, rtol=1e-4)


@settings(**_SETTINGS)
@given(programs(), xs)
def test_hessian_of_random_programs(steps, x):
    f = _run(steps, _W)
    H = cr.hessian(f)(x)
    g = cr.grad(f)
    eps = 1e-5
    fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(N)], axis=1)
    np.testing.assert_allclose(H, fd, rtol=1e-4, atol=1e-5, err_msg=str(steps))
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-10, err_msg=str(steps))
    # forward-over-reverse and reverse-over-reverse agree
    np.testing.assert_allclose(cr.jacrev(cr.jacrev(f))(x), H, rtol=1e-9, atol=1e-10)


@settings(**_SETTINGS)
@given(programs(), st.lists(xs, min_size=3, max_size=3))
def test_vmap_of_random_programs_equals_a_loop(steps, batch):
    f = _run(steps, _W)
    X = np.stack(batch)
    np.testing.assert_allclose(cr.vmap(f)(X), np.array([f(x) for x in X]), rtol=1e-12,
                               atol=1e-12, err_msg=str(steps))
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(X), np.stack([cr.grad(f)(x) for x in X]),
                               rtol=1e-10, atol=1e-12, err_msg=str(steps))


@settings(**_SETTINGS)
@given(programs(), xs)
def test_jit_of_random_programs_equals_eager(steps, x):
    f = _run(steps, _W)
    np.testing.assert_allclose(cr.jit(f)(x), f(x), rtol=1e-12, atol=1e-12, err_msg=str(steps))
    np.testing.assert_allclose(cr.grad(cr.jit(f))(x), cr.grad(f)(x), rtol=1e-10, atol=1e-12,
                               err_msg=str(steps))
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), cr.grad(f)(x), rtol=1e-10, atol=1e-12,
                               err_msg=str(steps))

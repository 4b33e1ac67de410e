"""Complex numbers: values and derivatives of every elementwise operation NumPy defines on
complex inputs, the gradient convention (docs/complex.md) through grad, vjp, jacrev, jit and
vmap, holomorphic grad/jacfwd/jacrev/hessian, cr.wirtinger, angle and complex sign.

The convention under test: for a real-valued f of complex z = x + iy,
    grad(f)(z) = df/dx + i df/dy = 2 df/dconj(z)
(PyTorch's; JAX returns the conjugate), and vjp is the adjoint under Re(sum(conj(a) * b)).
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads

RNG = np.random.default_rng(0)


def _away_from_cuts(shape, rng=RNG):
    """Complex values off every branch cut and pole of the functions below: |Re| in
    [0.2, 1.5], |Im| in [0.3, 0.9] (cuts lie on the real axis, or on the imaginary axis
    beyond |Im| = 1)."""
    re = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.5, shape)
    im = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 0.9, shape)
    return re + 1j * im


Z = _away_from_cuts((5,))
W = _away_from_cuts((5,))
X = RNG.uniform(0.5, 1.5, (5,))


def fd_grad(f, z, eps=1e-6):
    """df/dx + i df/dy of a real scalar f at complex array z, by central differences."""
    z = np.asarray(z, np.complex128)
    g = np.zeros(z.shape, np.complex128)
    for i in np.ndindex(z.shape):
        e = np.zeros(z.shape)
        e[i] = eps
        dx = (f(z + e) - f(z - e)) / (2 * eps)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        g[i] = dx + 1j * dy
    return g


def fd_wirtinger(f, z, eps=1e-6):
    """(df/dz, df/dconj(z)) of a scalar f (real or complex) by central differences."""
    z = np.asarray(z, np.complex128)
    dz = np.zeros(z.shape, np.complex128)
    dzb = np.zeros(z.shape, np.complex128)
    for i in np.ndindex(z.shape):
        e = np.zeros(z.shape)
        e[i] = eps
        dx = (f(z + e) - f(z - e)) / (2 * eps)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        dz[i], dzb[i] = (dx - 1j * dy) / 2, (dx + 1j * dy) / 2
    return dz, dzb


# --- elementwise operations on complex inputs -----------------------------------------------------

UNARY = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "square",
         "reciprocal", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
         "tanh", "arcsinh", "arccosh", "arctanh", "absolute", "sign", "conjugate", "real",
         "imag", "negative", "positive", "angle", "sinc"]
NONDIFF = ["rint", "isnan", "isinf", "isfinite"]
BINARY = ["add", "subtract", "multiply", "divide", "power", "float_power", "maximum",
          "minimum"]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name", UNARY + NONDIFF)
def test_unary_values_and_dtypes_vs_numpy(name, dtype):
    z = Z.astype(dtype)
    got, want = getattr(cnp, name)(z), getattr(np, name)(z)
    assert isinstance(got, np.ndarray) and got.dtype == want.dtype, (got.dtype, want.dtype)
    tol = 1e-12 if dtype == np.complex128 else 1e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", UNARY)
def test_unary_check_grads(name):
    check_grads(getattr(cnp, name), (Z,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", UNARY)
def test_unary_grad_follows_the_convention(name):
    # a real-valued function of the complex output: grad == df/dx + i df/dy
    u = getattr(cnp, name)
    w1, w2 = RNG.standard_normal(5), RNG.standard_normal(5)

    def f(z):
        y = u(z)
        return cnp.sum(w1 * cnp.real(y) + w2 * cnp.imag(y))
    want = fd_grad(lambda z: float(f(z)), Z)
    np.testing.assert_allclose(cr.grad(f)(Z), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(Z), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cr.grad(cr.jit(f))(Z), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NONDIFF)
def test_unary_nondifferentiable_on_complex(name):
    g = cr.grad(lambda z: cnp.sum(cnp.real(cnp.asarray(getattr(cnp, name)(z), complex) * Z)))(Z)
    np.testing.assert_array_equal(g, np.zeros_like(Z))


def _complex_elementwise_prims():
    """Every elementwise primitive of chainrule.prims.elementwise whose impl NumPy/SciPy
    evaluates on complex arguments (those without a complex loop raise TypeError there,
    as in NumPy), with its arity."""
    import chainrule.prims as P
    out = []
    for p in P.ALL:
        if p.module != "chainrule.prims.elementwise" or "elementwise" not in p.traits:
            continue
        n = len(p.jvp_rules)
        try:
            with np.errstate(all="ignore"):
                p.impl(*[Z, W, Z * W][:n])
        except TypeError:
            continue
        if any(r is not None for r in p.jvp_rules):
            out.append(pytest.param(p, n, id=p.name))
    return out


# digamma evaluates on complex numbers, but its derivative (SciPy's polygamma) does not
NO_COMPLEX_DERIVATIVE = {"digamma"}


@pytest.mark.parametrize("prim,n", _complex_elementwise_prims())
def test_every_elementwise_primitive_on_complex_inputs(prim, n):
    args = [Z, W, Z * W][:n]
    diff = [i for i, r in enumerate(prim.jvp_rules) if r is not None]

    def f(*vals):
        full = list(args)
        for i, v in zip(diff, vals):
            full[i] = v
        return prim(*full)
    if prim.name in NO_COMPLEX_DERIVATIVE:
        with pytest.raises(TypeError):
            cr.jvp(f, [args[i] for i in diff], [args[i] for i in diff])
        return
    check_grads(f, [args[i] for i in diff], order=2, modes=("fwd", "rev"))


def test_functions_without_complex_loops_raise_like_numpy():
    for name in ["logaddexp", "arctan2", "hypot", "fmod", "floor", "cbrt"]:
        f = getattr(cnp, name)
        args = (Z, W) if name in ("logaddexp", "arctan2", "hypot", "fmod") else (Z,)
        with pytest.raises(TypeError):
            getattr(np, name)(*args)
        with pytest.raises(TypeError):
            f(*args)


def _binary_args(name, kinds):
    a = Z if kinds[0] == "c" else X
    b = W if kinds[1] == "c" else X[::-1]
    if name in ("maximum", "minimum"):
        b = a + (0.3 + 0.2j if kinds[1] == "c" else 0.3) * np.array([1, -1, 1, -1, 1])
    if name in ("power", "float_power") and kinds == "cc":
        b = W * 0.7
    return a, b


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("kinds", ["cc", "rc", "cr"])
def test_binary_values_and_grads(name, kinds):
    a, b = _binary_args(name, kinds)
    got, want = getattr(cnp, name)(a, b), getattr(np, name)(a, b)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12)
    check_grads(getattr(cnp, name), (a, b), order=2, modes=("fwd", "rev"))
    g = cr.grad(lambda a, b: cnp.sum(cnp.abs(getattr(cnp, name)(a, b)) ** 2),
                argnums=(0, 1))(a, b)
    assert g[0].dtype == a.dtype and g[1].dtype == b.dtype  # real inputs get real gradients


def test_power_of_a_negative_real_base_to_a_complex_exponent():
    x = -X
    check_grads(cnp.power, (x, W), order=2)
    g = cr.grad(lambda y: cnp.sum(cnp.real(cnp.power(x, y))))(W)
    np.testing.assert_allclose(g, np.conj(np.log(x + 0j) * x ** W), rtol=1e-12)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "cumsum", "cumprod", "var", "std"])
def test_reductions_on_complex(name):
    z = Z.reshape(5, 1) * W
    got, want = getattr(cnp, name)(z, axis=0), getattr(np, name)(z, axis=0)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12)
    check_grads(lambda a: getattr(cnp, name)(a, axis=0), (z,), order=2)


@pytest.mark.parametrize("name", ["dot", "vdot", "matmul", "inner", "outer"])
def test_products_on_complex(name):
    a, b = Z, W
    if name == "matmul":
        a, b = Z.reshape(5, 1) * W, W.reshape(5, 1) * Z
    np.testing.assert_allclose(getattr(cnp, name)(a, b), getattr(np, name)(a, b), rtol=1e-12)
    check_grads(getattr(cnp, name), (a, b), order=2)


def test_scatter_multiply_on_complex():
    idx = np.array([0, 3])
    check_grads(lambda a, b: cnp.at(a)[idx].multiply(b), (Z, W[:2]), order=2)


# --- the gradient convention --------------------------------------------------------------------


def test_grad_of_abs_squared_is_two_z():
    z = np.complex128(1 + 2j)
    assert cr.grad(lambda z: abs(z) ** 2)(z) == 2 + 4j
    assert cr.grad(lambda z: cnp.real(z * cnp.conj(z)))(z) == 2 + 4j
    # JAX's convention would give the conjugate; ours is 2 df/dconj(z)
    dz, dzbar = cr.wirtinger(lambda z: cnp.abs(z) ** 2)(z)
    np.testing.assert_allclose(cr.grad(lambda z: abs(z) ** 2)(z), 2 * dzbar)
    np.testing.assert_allclose(cr.grad(lambda z: abs(z) ** 2)(z), 2 * np.conj(dz))


def _loss(z):
    return cnp.sum(cnp.abs(cnp.sin(z) * cnp.conj(z) - 1j) ** 2 + cnp.real(cnp.exp(z)))


def test_grad_vjp_jacrev_jit_vmap_agree_with_finite_differences():
    want = fd_grad(lambda z: float(_loss(z)), Z)
    np.testing.assert_allclose(cr.grad(_loss)(Z), want, rtol=1e-6)
    _, f_vjp = cr.vjp(_loss, Z)
    np.testing.assert_allclose(f_vjp(1.0)[0], want, rtol=1e-6)
    np.testing.assert_allclose(cr.jacrev(_loss)(Z), want, rtol=1e-6)
    np.testing.assert_allclose(cr.jit(cr.grad(_loss))(Z), want, rtol=1e-6)
    np.testing.assert_allclose(cr.value_and_grad(_loss)(Z)[1], want, rtol=1e-6)
    zs = np.stack([Z, W, Z * W])
    per = np.stack([cr.grad(_loss)(z) for z in zs])
    np.testing.assert_allclose(cr.vmap(cr.grad(_loss))(zs), per, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.vmap(cr.grad(_loss)))(zs), per, rtol=1e-12)


def test_jacrev_rows_are_gradients_of_each_real_output():
    f = lambda z: cnp.abs(z) ** 2 + cnp.real(z) * cnp.imag(z)  # noqa: E731
    J = cr.jacrev(f)(Z)
    assert J.shape == (5, 5) and J.dtype == np.complex128
    np.testing.assert_allclose(J, np.diag(2 * Z + (Z.imag + 1j * Z.real)), atol=1e-12)


def test_gradient_descent_works_directly():
    z = np.array([2.0 + 1.0j, -1.0 + 3.0j])
    target = np.array([0.5 - 0.5j, 1.0j])
    loss = lambda z: cnp.sum(cnp.abs(z - target) ** 2)  # noqa: E731
    for _ in range(50):
        z = z - 0.1 * cr.grad(loss)(z)
    np.testing.assert_allclose(z, target, atol=1e-4)


def test_vjp_of_complex_outputs_is_the_adjoint():
    # holomorphic f: vjp(ct) = conj(f'(z)) * ct; and Re<vjp(ct), t> == Re<ct, jvp(t)>
    ct = W
    _, f_vjp = cr.vjp(cnp.sin, Z)
    np.testing.assert_allclose(f_vjp(ct)[0], np.conj(np.cos(Z)) * ct, rtol=1e-12)
    t = _away_from_cuts((5,), np.random.default_rng(5))
    f = lambda z: cnp.conj(z) * z ** 2 + cnp.abs(z)  # noqa: E731
    _, jt = cr.jvp(f, (Z,), (t,))
    lhs = np.real(np.vdot(cr.vjp(f, Z)[1](ct)[0], t))
    np.testing.assert_allclose(lhs, np.real(np.vdot(ct, jt)), rtol=1e-12)
    # a real input with a complex output: the cotangent's pullback is real
    g = cr.vjp(lambda x: x * (1 + 2j), X)[1](ct)[0]
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, np.real(np.conj(1 + 2j) * ct), rtol=1e-12)


def test_complex64_stays_complex64():
    z = Z.astype(np.complex64)
    g = cr.grad(lambda z: cnp.sum(cnp.abs(cnp.exp(z)) ** 2))(z)
    assert g.dtype == np.complex64
    assert cr.grad(lambda z: cnp.sum(z ** 2), holomorphic=True)(z).dtype == np.complex64
    assert cr.wirtinger(lambda z: cnp.sum(z * z))(z)[0].dtype == np.complex64


# --- holomorphic ----------------------------------------------------------------------------------

HOLO = {
    "square": (lambda z: z ** 2, lambda z: 2 * z),
    "cubic": (lambda z: z ** 3 + 2 * z, lambda z: 3 * z ** 2 + 2),
    "exp": (cnp.exp, np.exp),
    "sin": (cnp.sin, np.cos),
    "log": (cnp.log, lambda z: 1 / z),
    "reciprocal": (lambda z: 1 / z, lambda z: -1 / z ** 2),
    "sqrt": (cnp.sqrt, lambda z: 0.5 / np.sqrt(z)),
    "tanh": (cnp.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "arccosh": (cnp.arccosh, lambda z: 1 / (np.sqrt(z - 1) * np.sqrt(z + 1))),
}


@pytest.mark.parametrize("name", sorted(HOLO))
def test_holomorphic_grad_is_the_complex_derivative(name):
    f, df = HOLO[name]
    for z in Z[:3]:
        np.testing.assert_allclose(cr.grad(f, holomorphic=True)(z), df(z), rtol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(f, holomorphic=True)(Z), np.diag(df(Z)), atol=1e-12)
    np.testing.assert_allclose(cr.jacrev(f, holomorphic=True)(Z), np.diag(df(Z)), atol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.grad(f, holomorphic=True))(Z[0]), df(Z[0]),
                               rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(f, holomorphic=True))(Z), df(Z), rtol=1e-12)


def test_holomorphic_second_derivatives_and_matrices():
    d2 = cr.grad(cr.grad(lambda z: z ** 3, holomorphic=True), holomorphic=True)(Z[0])
    np.testing.assert_allclose(d2, 6 * Z[0], rtol=1e-12)
    H = cr.hessian(lambda z: cnp.sum(z ** 3), holomorphic=True)(Z)
    np.testing.assert_allclose(H, np.diag(6 * Z), atol=1e-12)
    A = RNG.standard_normal((3, 5)) + 1j * RNG.standard_normal((3, 5))
    np.testing.assert_allclose(cr.jacrev(lambda z: A @ z, holomorphic=True)(Z), A, atol=1e-12)
    np.testing.assert_allclose(cr.jacfwd(lambda z: A @ z, holomorphic=True)(Z), A, atol=1e-12)
    v, g = cr.value_and_grad(lambda z: cnp.sum(cnp.exp(z)), holomorphic=True)(Z)
    np.testing.assert_allclose(v, np.sum(np.exp(Z)))
    np.testing.assert_allclose(g, np.exp(Z), rtol=1e-12)
    g = cr.grad(lambda a, b: cnp.sum(a * b), argnums=(0, 1), holomorphic=True)(Z, W)
    np.testing.assert_allclose(g[0], W)
    np.testing.assert_allclose(g[1], Z)


def test_holomorphic_and_complex_errors():
    with pytest.raises(TypeError, match="complex inputs"):
        cr.grad(lambda x: x ** 2, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="complex output"):
        cr.grad(lambda z: cnp.abs(z), holomorphic=True)(1j)
    with pytest.raises(TypeError, match="real-valued output"):
        cr.grad(lambda z: z ** 2)(1j)
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs"):
        cr.jacrev(lambda z: z ** 2)(Z)
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs"):
        cr.jacfwd(lambda z: cnp.abs(z))(Z)
    with pytest.raises(TypeError, match="complex outputs"):
        cr.jacrev(lambda z: cnp.abs(z), holomorphic=True)(Z)
    with pytest.raises(TypeError, match="complex outputs"):
        cr.jacfwd(lambda z: cnp.abs(z), holomorphic=True)(Z)
    # real inputs with complex outputs stay fine in forward mode
    J = cr.jacfwd(lambda x: cnp.exp(1j * x))(X)
    np.testing.assert_allclose(J, np.diag(1j * np.exp(1j * X)), atol=1e-12)


# --- wirtinger ------------------------------------------------------------------------------------

CLOSED = {
    "z zbar": (lambda z: z * cnp.conj(z), lambda z: (np.conj(z), z)),
    "z^2": (lambda z: z ** 2, lambda z: (2 * z, 0 * z)),
    "|z|": (cnp.abs, lambda z: (np.conj(z) / (2 * abs(z)), z / (2 * abs(z)))),
    "conj": (cnp.conj, lambda z: (0 * z, 1 + 0 * z)),
    "z^2 zbar + 3 zbar^2 - 2iz": (
        lambda z: z ** 2 * cnp.conj(z) + 3 * cnp.conj(z) ** 2 - 2j * z,
        lambda z: (2 * z * np.conj(z) - 2j, z ** 2 + 6 * np.conj(z))),
    "z exp(zbar)": (lambda z: z * cnp.exp(cnp.conj(z)),
                    lambda z: (np.exp(np.conj(z)), z * np.exp(np.conj(z)))),
    "Re z": (cnp.real, lambda z: (0.5 + 0 * z, 0.5 + 0 * z)),
    "Im z": (cnp.imag, lambda z: (-0.5j + 0 * z, 0.5j + 0 * z)),
}


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_wirtinger_closed_forms(name):
    f, want = CLOSED[name]
    for z in [Z[0], Z[3], np.complex128(1 + 2j)]:
        dz, dzbar = cr.wirtinger(f)(z)
        wz, wzb = want(z)
        np.testing.assert_allclose(dz, wz, atol=1e-12)
        np.testing.assert_allclose(dzbar, wzb, atol=1e-12)
        assert isinstance(dz, np.ndarray) and dz.dtype == np.complex128
    # elementwise over arrays: wirtinger of the sum
    dz, dzbar = cr.wirtinger(lambda z: cnp.sum(f(z)))(Z)
    wz, wzb = want(Z)
    np.testing.assert_allclose(dz, wz, atol=1e-12)
    np.testing.assert_allclose(dzbar, wzb, atol=1e-12)


@pytest.mark.parametrize("f", [
    lambda z: cnp.sum(cnp.sin(z) * cnp.conj(z) ** 2),
    lambda z: cnp.sum(cnp.abs(cnp.log(z)) ** 3),
    lambda z: cnp.prod(cnp.real(z) + 2j * cnp.imag(z) ** 2),
    lambda z: cnp.vdot(z, cnp.fft.fft(z)),
], ids=["complex-out", "real-out", "prod", "fft"])
def test_wirtinger_vs_finite_differences(f):
    dz, dzbar = cr.wirtinger(f)(Z)
    wz, wzb = fd_wirtinger(lambda z: complex(f(z)), Z)
    np.testing.assert_allclose(dz, wz, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dzbar, wzb, rtol=1e-6, atol=1e-6)


def test_wirtinger_relations_with_grad():
    real_f = lambda z: cnp.sum(cnp.abs(z * cnp.exp(z)) ** 2)  # noqa: E731
    dz, dzbar = cr.wirtinger(real_f)(Z)
    np.testing.assert_allclose(dzbar, np.conj(dz), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(real_f)(Z), 2 * dzbar, rtol=1e-12)
    holo = lambda z: cnp.sum(cnp.exp(z) * z ** 2)  # noqa: E731
    dz, dzbar = cr.wirtinger(holo)(Z)
    np.testing.assert_allclose(dz, cr.grad(holo, holomorphic=True)(Z), rtol=1e-12)
    np.testing.assert_allclose(dzbar, 0, atol=1e-12)


def test_wirtinger_argnums_pytrees_aux_kwargs():
    f = lambda a, b, scale=1.0: scale * cnp.sum(a * cnp.conj(b))  # noqa: E731
    (da, db), (dab, dbb) = cr.wirtinger(f, argnums=(0, 1))(Z, W, scale=2.0)
    np.testing.assert_allclose(da, 2 * np.conj(W))
    np.testing.assert_allclose(db, 0 * W, atol=1e-15)
    np.testing.assert_allclose(dab, 0 * Z, atol=1e-15)
    np.testing.assert_allclose(dbb, 2 * Z)
    d, db_ = cr.wirtinger(f, argnums=1)(Z, W)
    np.testing.assert_allclose(db_, Z)
    tree = {"u": Z, "v": (W[:2],)}
    g = lambda p: (cnp.sum(cnp.abs(p["u"]) ** 2) + cnp.sum(p["v"][0] ** 2), "aux")  # noqa
    (dz, dzbar), aux = cr.wirtinger(g, has_aux=True)(tree)
    assert aux == "aux"
    np.testing.assert_allclose(dz["u"], np.conj(Z))
    np.testing.assert_allclose(dz["v"][0], 2 * W[:2])
    np.testing.assert_allclose(dzbar["u"], Z)
    np.testing.assert_allclose(dzbar["v"][0], 0, atol=1e-15)


def test_wirtinger_composes_with_jit_vmap_and_itself():
    f = lambda z: z ** 2 * cnp.conj(z)  # noqa: E731
    dz, dzbar = cr.jit(cr.wirtinger(f))(Z[0])
    np.testing.assert_allclose(dz, 2 * Z[0] * np.conj(Z[0]), rtol=1e-12)
    np.testing.assert_allclose(dzbar, Z[0] ** 2, rtol=1e-12)
    dz, dzbar = cr.vmap(cr.wirtinger(f))(Z)
    np.testing.assert_allclose(dz, 2 * Z * np.conj(Z), rtol=1e-12)
    np.testing.assert_allclose(dzbar, Z ** 2, rtol=1e-12)
    # d/dzbar of df/dz = d/dzbar (2 z zbar) = 2 z; d/dz of df/dzbar = d/dz z^2 = 2 z
    mixed = cr.wirtinger(lambda z: cr.wirtinger(f)(z)[0])(Z[1])[1]
    np.testing.assert_allclose(mixed, 2 * Z[1], rtol=1e-12)
    np.testing.assert_allclose(cr.wirtinger(lambda z: cr.wirtinger(f)(z)[1])(Z[1])[0],
                               2 * Z[1], rtol=1e-12)


def test_wirtinger_errors():
    with pytest.raises(TypeError, match="complex inputs"):
        cr.wirtinger(lambda x: x ** 2)(1.0)
    with pytest.raises(TypeError, match="scalar output"):
        cr.wirtinger(lambda z: z ** 2)(Z)
    with pytest.raises(TypeError, match="callable"):
        cr.wirtinger(3)


# --- angle and complex sign -----------------------------------------------------------------------


def test_angle_values():
    z = np.array([1 + 2j, -1 - 1j, 0j, complex(-0.0, 0.0), -3 + 0j, 1j, complex(-1, -0.0)])
    for v in [z, z.astype(np.complex64), np.array([1.0, -1.0, 0.0, -0.0]),
              np.array([3, -2]), np.float32(-2.0), -1.5]:
        got, want = cnp.angle(v), np.angle(v)
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)
        np.testing.assert_allclose(cnp.angle(v, deg=True), np.angle(v, deg=True), rtol=1e-6)


def test_angle_derivatives():
    # theta = atan2(y, x): grad = -y/r^2 + i x/r^2 = i z / |z|^2
    np.testing.assert_allclose(cr.grad(lambda z: cnp.sum(cnp.angle(z)))(Z),
                               1j * Z / np.abs(Z) ** 2, rtol=1e-12)
    check_grads(cnp.angle, (Z,), order=2)
    g = cr.grad(lambda z: cnp.sum(cnp.angle(z)))(np.array([0j, 1 + 1j]))
    assert np.all(np.isfinite(g)) and g[0] == 0
    g = cr.grad(lambda x: cnp.sum(cnp.angle(x)))(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(g, np.zeros(3))
    np.testing.assert_allclose(cr.vmap(cnp.angle)(Z), np.angle(Z))
    np.testing.assert_allclose(cr.jit(lambda z: cnp.angle(z, deg=True))(Z), np.angle(Z, True))


def test_complex_sign_derivative():
    # sign(z) = z / |z|: finite, zero derivative at 0
    check_grads(cnp.sign, (Z,), order=2)
    g = cr.grad(lambda z: cnp.sum(cnp.real(cnp.sign(z)) + cnp.imag(cnp.sign(z))))(
        np.array([0j, 1 + 1j]))
    assert np.all(np.isfinite(g)) and g[0] == 0
    # real sign keeps derivative 0
    np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(cnp.sign(x)))(X), 0 * X)

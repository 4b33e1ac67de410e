"""check_grads catches wrong derivatives, also in float32 and in each mode alone, and passes
right ones: a custom rule off by a few percent fails; the true rule passes."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.test_util import check_grads


def _sin_with(factor):
    @cr.custom_vjp
    def f(x):
        return cnp.sin(x)

    f.defvjp(lambda x: (cnp.sin(x), x), lambda x, g: (factor * g * cnp.cos(x),))
    return f


def _sin_jvp_with(factor):
    @cr.custom_jvp
    def f(x):
        return cnp.sin(x)

    f.defjvp(lambda p, t: (cnp.sin(p[0]), factor * cnp.cos(p[0]) * t[0]))
    return f


X = np.array([0.3, -1.1, 0.8, 2.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_right_rules_pass(dtype):
    x = X.astype(dtype)
    check_grads(_sin_with(1.0), (x,), order=1, modes=("rev",))
    check_grads(_sin_jvp_with(1.0), (x,), order=2, modes=("fwd", "rev"))
    check_grads(lambda x: cnp.tanh(x) ** 2, (x,), order=2)


@pytest.mark.parametrize("dtype,factor", [(np.float64, 1.001), (np.float32, 1.02),
                                          (np.float32, 1.1)])
def test_a_wrong_vjp_fails_in_reverse_mode(dtype, factor):
    with pytest.raises(AssertionError, match="vjp inner-product check failed"):
        check_grads(_sin_with(factor), (X.astype(dtype),), order=1, modes=("rev",))


@pytest.mark.parametrize("dtype,factor", [(np.float64, 1.001), (np.float32, 1.02)])
def test_a_wrong_jvp_fails_in_forward_mode(dtype, factor):
    with pytest.raises(AssertionError, match="jvp tangent vs finite differences"):
        check_grads(_sin_jvp_with(factor), (X.astype(dtype),), order=1, modes=("fwd",))

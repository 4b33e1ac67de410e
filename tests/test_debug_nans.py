"""cr.config.debug_nans: the first primitive that produces a NaN raises NaNError naming the
primitive, the phase and the user's line; with the flag off nothing is checked (the fast paths
are the untouched originals)."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import core, lax
from chainrule.transforms import batching, forward, reverse, staging

HERE = os.path.abspath(__file__)


@pytest.fixture(autouse=True)
def _quiet_and_reset():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
    cr.config.update("debug_nans", False)


def line_of(fn, k=1):
    """The line k lines after fn's `def` line."""
    return fn.__code__.co_firstlineno + k


def raises_nan(thunk) -> cr.NaNError:
    with cr.debug_nans():
        with pytest.raises(cr.NaNError) as info:
            thunk()
    assert not cr.config.debug_nans
    return info.value


# the user functions whose lines the errors must name (the operation is on the line after def)


def f_log(x):
    return cnp.sum(cnp.log(x))


def f_pow(x, y):
    return x ** y


def f_scaled_log(x):
    y = x * 2.0
    return cnp.log(y)


def f_cancel(x):
    return cnp.sqrt(x) - cnp.sqrt(x)


def f_body(c, x):
    c = c + cnp.log(x)
    return c, c


# ---------------------------------------------------------------------------------------------
# the setting


def test_flag_attribute_update_and_context_manager():
    assert cr.config.debug_nans is False
    cr.config.update("debug_nans", True)
    assert cr.config.debug_nans is True
    cr.config.debug_nans = False
    assert cr.config.debug_nans is False
    cr.config.update("jax_debug_nans", 1)  # JAX's spelling, for porting
    assert cr.config.debug_nans is True
    cr.config.debug_nans = False
    with cr.debug_nans():
        assert cr.config.debug_nans
        with cr.config.debug_nans_mode(False):
            assert not cr.config.debug_nans
            assert np.isnan(cnp.log(-1.0))  # off inside: no error
        assert cr.config.debug_nans
    assert not cr.config.debug_nans
    with pytest.raises(ZeroDivisionError):
        with cr.debug_nans():
            1 / 0
    assert not cr.config.debug_nans


def test_unknown_setting_is_a_clear_error():
    with pytest.raises(AttributeError, match="no setting 'debug_nan'.*debug_nans"):
        cr.config.update("debug_nan", True)


def test_error_type():
    assert issubclass(cr.NaNError, FloatingPointError)
    assert cr.NaNError is cr.config.NaNError


def test_environment_variable_turns_it_on_at_import():
    code = ("import chainrule as cr, chainrule.numpy as cnp\n"
            "assert cr.config.debug_nans\n"
            "try:\n    cnp.log(-1.0)\nexcept cr.NaNError as e:\n    print(e.primitive)\n")
    env = dict(os.environ, CHAINRULE_DEBUG_NANS="1", PYTHONWARNINGS="ignore")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "log"


# ---------------------------------------------------------------------------------------------
# zero cost when off: the original implementations are back in place


def _fast_paths_in_place():
    return (core.bind.__code__ is core._bind_fast
            and reverse.RTrace.process is reverse._process_fast
            and reverse.backward.__code__ is reverse._backward_fast
            and forward.JVPTrace.process is forward._process_fast
            and batching.BatchTrace.process is batching._process_fast
            and staging.StageTrace.process is staging._process_fast)


def test_off_runs_the_original_fast_paths():
    assert _fast_paths_in_place()
    with cr.debug_nans():
        assert core.bind.__code__ is core._bind_checking.__code__
        assert reverse.RTrace.process is reverse._process_checking
        assert not _fast_paths_in_place()
    assert _fast_paths_in_place()
    with pytest.raises(cr.NaNError), cr.debug_nans():
        cnp.log(-1.0)
    assert _fast_paths_in_place()  # restored after an error too


def test_tape_records_lines_only_when_on():
    def nodes(on):
        trace = reverse.RTrace()
        x = trace.new_input(np.ones(2))
        with cr.debug_nans(on), core.tracing(trace):
            cnp.sin(x)  # recorded here
        return [n for n in trace.tape if n[reverse.PRIM] is not None]

    (off,) = nodes(False)
    assert off[reverse.WHERE] is None
    (on,) = nodes(True)
    assert on[reverse.WHERE][:2] == (HERE, line_of(test_tape_records_lines_only_when_on, 5))


def test_off_lets_nans_through():
    assert np.isnan(cnp.log(-1.0))
    assert np.isnan(cr.grad(f_pow, argnums=1)(-2.0, 2.0))
    assert np.isnan(cr.jit(f_scaled_log)(np.array([-1.0]))).all()


# ---------------------------------------------------------------------------------------------
# eager and the phases of differentiation


def test_eager():
    e = raises_nan(lambda: cnp.log(np.array([1.0, -1.0])))
    assert e.primitive == "log" and e.phase == "eager evaluation" and e.vjp_of is None
    assert (e.filename, e.lineno) == (HERE, line_of(test_eager))
    assert "cnp.log(np.array([1.0, -1.0]))" in e.source
    msg = str(e)
    assert "primitive `log`" in msg and f"{HERE}:{e.lineno}" in msg


def test_nan_inputs_are_not_errors():
    with cr.debug_nans():
        assert np.isnan(cnp.sin(np.nan))
        assert np.isnan(cnp.sum(np.array([1.0, np.nan]))).all()
        g = cr.grad(lambda x: cnp.sum(x * 2.0))(np.array([np.nan, 1.0]))
        np.testing.assert_array_equal(g, [2.0, 2.0])


def test_forward_pass_of_grad():
    e = raises_nan(lambda: cr.grad(f_log)(np.array([-1.0, 1.0])))
    assert e.primitive == "log" and e.phase == "forward pass of grad/vjp"
    assert (e.filename, e.lineno) == (HERE, line_of(f_log))


def test_backward_pass_names_the_forward_operation_and_its_line():
    # d/dy x**y = log(x) x**y: NaN for x < 0, although x**y itself is fine
    e = raises_nan(lambda: cr.grad(f_pow, argnums=1)(-2.0, 2.0))
    assert e.primitive == "log" and e.vjp_of == "power"
    assert e.phase == "backward pass of grad/vjp"
    assert (e.filename, e.lineno) == (HERE, line_of(f_pow))  # not the grad call's line
    assert "VJP of `power`" in str(e) and "forward operation" in str(e)


def test_backward_pass_of_vjp():
    _, f_vjp = cr.vjp(f_pow, -2.0, 2.0)
    with cr.debug_nans():
        # the forward pass ran with the flag off: the VJP is still checked, but the line of
        # the forward operation was not recorded (the vjp call's line is given instead)
        with pytest.raises(cr.NaNError) as info:
            f_vjp(1.0)
    assert info.value.vjp_of == "power" and info.value.lineno == line_of(
        test_backward_pass_of_vjp, 6)
    e = raises_nan(lambda: cr.vjp(f_pow, -2.0, 2.0)[1](1.0))
    assert e.vjp_of == "power" and e.lineno == line_of(f_pow)


def test_fan_out_sum_of_cotangents():
    # sqrt'(0) = inf reaches x twice, with opposite signs: inf - inf
    e = raises_nan(lambda: cr.grad(f_cancel)(0.0))
    assert e.phase == "backward pass of grad/vjp" and e.primitive == "add"
    assert "sum of the cotangents" in str(e)


def test_vjp_rule_outside_primitives_is_checked():
    @cr.custom_vjp
    def f(x):
        return cnp.sin(x)

    f.defvjp(lambda x: (cnp.sin(x), x),
             lambda x, ct: (ct * np.log(x),))  # NumPy on the residual: no primitive
    e = raises_nan(lambda: cr.grad(f)(-1.0))
    assert e.primitive == "custom_vjp_call" and e.vjp_of == "custom_vjp_call"
    # the line that called f (the forward operation)
    assert "backward pass" in e.phase and e.lineno == line_of(
        test_vjp_rule_outside_primitives_is_checked, 7)


def test_jvp_tangent():
    e = raises_nan(lambda: cr.jvp(f_pow, (-2.0, 2.0), (0.0, 1.0)))
    assert e.primitive == "log" and e.phase == "jvp (JVP rule of `power`)"
    assert e.lineno == line_of(f_pow)


def test_jvp_rule_outside_primitives_is_checked():
    @cr.custom_jvp
    def f(x):
        return cnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), t * np.log(x)  # NumPy on the primal: no primitive

    e = raises_nan(lambda: cr.jvp(f, (-1.0,), (1.0,)))
    assert e.primitive == "custom_jvp_call" and e.phase.startswith("jvp")


def test_vmap():
    e = raises_nan(lambda: cr.vmap(f_scaled_log)(np.array([1.0, -1.0])))
    assert e.primitive == "log" and e.phase == "vmap" and e.lineno == line_of(f_scaled_log, 2)


def test_nested_transforms_name_the_whole_path():
    e = raises_nan(lambda: cr.vmap(cr.grad(f_pow, argnums=1))(np.array([2.0, -2.0]),
                                                               np.array([2.0, 2.0])))
    assert e.phase.startswith("backward pass of grad/vjp") and e.phase.endswith("vmap")
    assert e.vjp_of == "power" and e.lineno == line_of(f_pow)
    e = raises_nan(lambda: cr.jvp(cr.grad(f_pow, argnums=1), (-2.0, 2.0), (0.0, 1.0)))
    assert e.transforms == ("forward pass of grad/vjp", "jvp (JVP rule of `power`)")
    # the hessian of sqrt(sin(x)) at 0: 0 * inf in a tangent of the VJP of sqrt (the JVP of
    # the division in sqrt's derivative), under jacfwd's vmap
    e = raises_nan(lambda: cr.hessian(lambda x: cnp.sum(cnp.sqrt(cnp.sin(x))))(
        np.array([0.0, 1.0])))
    assert e.primitive == "multiply" and "jvp (JVP rule of `divide`)" in e.transforms
    assert e.transforms[0] == "backward pass of grad/vjp (VJP of `sqrt`)"
    assert e.transforms[-1] == "vmap"


# ---------------------------------------------------------------------------------------------
# jit: the staged program runs equation by equation, each equation knows its line


def test_jit_names_the_line_inside_the_jitted_function():
    e = raises_nan(lambda: cr.jit(f_scaled_log)(np.array([1.0, -1.0])))
    assert e.primitive == "log" and e.phase == "eager evaluation > `jit`"
    assert (e.filename, e.lineno) == (HERE, line_of(f_scaled_log, 2))


def test_jit_traced_before_the_flag_is_traced_again():
    jf = cr.jit(f_scaled_log)
    x = np.array([1.0, -1.0])
    assert np.isnan(jf(x)[1])
    prog_off = jf.lower(x)
    e = raises_nan(lambda: jf(x))
    assert e.lineno == line_of(f_scaled_log, 2)
    assert np.isnan(jf(x)[1])  # off again: the compiled program
    assert len(jf._cache) == 2
    assert str(jf.lower(x)) == str(prog_off)


def test_grad_of_jit_backward_program():
    # (with the flag off, jit's common-subexpression elimination merges the two square roots
    # and the gradient is 0 * inf = 0; the unoptimized debug program keeps eager semantics)
    e = raises_nan(lambda: cr.grad(cr.jit(f_cancel))(0.0))
    assert e.primitive == "add" and e.phase == "backward pass of grad/vjp > `jit`"
    assert e.lineno == line_of(f_cancel)


def test_grad_of_jit_names_the_original_line():
    e = raises_nan(lambda: cr.grad(cr.jit(f_pow), argnums=1)(-2.0, 2.0))
    assert e.primitive == "log" and e.vjp_of == "power" and "`jit`" in e.phase
    assert e.lineno == line_of(f_pow)


def test_jit_of_grad():
    e = raises_nan(lambda: cr.jit(cr.grad(f_pow, argnums=1))(-2.0, 2.0))
    assert e.primitive == "log" and e.vjp_of == "power" and "`jit`" in e.phase
    assert e.lineno == line_of(f_pow)


def test_jvp_and_vmap_of_jit():
    e = raises_nan(lambda: cr.jvp(cr.jit(f_pow), (-2.0, 2.0), (0.0, 1.0)))
    assert e.primitive == "log" and e.phase == "jvp > `jit`" and e.lineno == line_of(f_pow)
    e = raises_nan(lambda: cr.vmap(cr.jit(f_scaled_log))(np.array([1.0, -1.0])))
    assert e.phase == "vmap > `jit`" and e.lineno == line_of(f_scaled_log, 2)


def test_control_flow_bodies_run_equation_by_equation():
    xs = np.array([1.0, 2.0, -1.0] * 6)  # long enough that the body would be compiled
    e = raises_nan(lambda: lax.scan(f_body, 0.0, xs))
    assert e.primitive == "log" and e.phase == "eager evaluation > `scan`"
    assert e.lineno == line_of(f_body)
    e = raises_nan(lambda: cr.jit(lambda xs: lax.scan(f_body, 0.0, xs))(xs))
    assert e.phase == "eager evaluation > `jit` > `scan`" and e.lineno == line_of(f_body)


# ---------------------------------------------------------------------------------------------
# debug mode computes the same values


def _model(w, x):
    h = cnp.tanh(x @ w)
    return cnp.sum(cnp.where(h > 0, cnp.sqrt(cnp.where(h > 0, h, 1.0)), 0.0) + h ** 2)


def test_same_results_with_the_flag_on():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    runs = [lambda: cr.grad(_model)(w, x), lambda: cr.jit(cr.grad(_model))(w, x),
            lambda: cr.grad(cr.jit(_model))(w, x),
            lambda: cr.jvp(_model, (w, x), (np.ones_like(w), np.zeros_like(x)))[1],
            lambda: cr.vmap(cr.grad(_model), in_axes=(None, 0))(w, x[:, None, :]),
            lambda: cr.hessian(lambda w: _model(w, x))(w)]
    off = [r() for r in runs]
    with cr.debug_nans():
        on = [r() for r in runs]
    for a, b in zip(off, on):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_jit_results_are_fresh_arrays_with_the_flag_on():
    f = cr.jit(lambda x: (x * 1, np.ones(3) * 2.0, 3.0))
    with cr.debug_nans():
        x = np.ones(3)
        a, b, c = f(x)
        a += 1.0
        b += 1.0
        a2, b2, c2 = f(x)
    np.testing.assert_array_equal(x, np.ones(3))
    np.testing.assert_array_equal(b2, [2.0, 2.0, 2.0])
    assert isinstance(c2, np.ndarray) and c2 == 3.0


def test_untaken_where_branch_is_reported_and_the_double_where_guard_is_not():
    f = lambda x: cnp.where(x > 0, cnp.sqrt(x), 0.0)  # noqa: E731
    e = raises_nan(lambda: cr.grad(f)(-1.0))
    assert e.primitive == "sqrt"
    g = lambda x: cnp.where(x > 0, cnp.sqrt(cnp.where(x > 0, x, 1.0)), 0.0)  # noqa: E731
    with cr.debug_nans():
        assert cr.grad(g)(-1.0) == 0.0
        assert cr.grad(cr.grad(g))(-1.0) == 0.0


def test_nan_constants_and_inputs_inside_staged_code_are_not_errors():
    nan_const = np.array([np.nan, 1.0])
    body = lambda c, x: (c + nan_const * x, c)  # noqa: E731
    with cr.debug_nans():
        c, _ = lax.scan(body, np.zeros(2), np.ones(20))
        assert np.isnan(c[0]) and c[1] == 20.0
        c, _ = cr.jit(lambda xs: lax.scan(body, np.zeros(2), xs))(np.ones(20))
        assert np.isnan(c[0])
        assert np.isnan(cr.jit(f_scaled_log)(np.array([np.nan, 1.0]))[0])
        assert np.isnan(cr.grad(lambda x: cnp.sum(x * nan_const))(np.ones(2))[0])

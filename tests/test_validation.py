"""Every bad input raises ValueError naming the parameter, the value and the allowed range."""

import math
import re

import jax
import numpy as np
import pytest

import ssl_odes
from ssl_odes import _params
from ssl_odes.byol_modes import classify_mode_fixed_point, collapse_threshold, fixed_points, invariant, tau_closed_form


def simulate(**overrides):
    kwargs = dict(p0=0.5, s0=0.5, t1=1.0, num_points=3)
    kwargs.update(overrides)
    return ssl_odes.simulate_byol_modes(**kwargs)


@pytest.mark.parametrize(
    "name,value,allowed",
    [
        ("alpha_p", 0.0, "alpha_p > 0"),
        ("alpha_p", -1.0, "alpha_p > 0"),
        ("beta", -0.1, "beta >= 0"),
        ("eta", -1e-3, "eta >= 0"),
        ("sigma2", -0.5, "sigma2 >= 0"),
        ("s0", -0.2, "s0 >= 0"),
        ("t1", 0.0, "t1 > 0"),
        ("t1", -3.0, "t1 > 0"),
        ("rtol", 0.0, "rtol > 0"),
        ("atol", -1e-9, "atol > 0"),
        ("bound", 0.0, "bound > 0"),
    ],
)
def test_out_of_range_scalar_names_parameter_value_and_range(name, value, allowed):
    with pytest.raises(ValueError, match=rf"^{name} must satisfy {re.escape(allowed)}; got {name}={re.escape(repr(value))}"):
        simulate(**{name: value})


@pytest.mark.parametrize("name", ["p0", "s0", "tau0", "alpha_p", "beta", "eta", "sigma2", "t1", "rtol", "atol"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected(name, bad):
    with pytest.raises(ValueError, match=rf"^{name} must be finite .*; got {name}={re.escape(repr(bad))}"):
        simulate(**{name: bad})


def test_array_error_reports_the_offending_entry_and_its_index():
    with pytest.raises(ValueError, match=r"eta must satisfy eta >= 0; got eta=-0.5 at index \(1, 0\) of an array of shape \(2, 1\)"):
        simulate(eta=[[0.1], [-0.5]])


def test_num_points_must_be_an_integer_of_at_least_two():
    with pytest.raises(ValueError, match=r"num_points must satisfy num_points >= 2; got num_points=1"):
        simulate(num_points=1)
    with pytest.raises(ValueError, match=r"num_points must be an integer >= 2; got num_points=2.5"):
        simulate(num_points=2.5)


def test_max_steps_must_be_a_positive_integer():
    with pytest.raises(ValueError, match=r"max_steps must satisfy max_steps >= 1; got max_steps=0"):
        simulate(max_steps=0)


def test_tolerances_and_t1_must_be_scalars():
    with pytest.raises(ValueError, match=r"rtol must be a scalar; got an array of shape \(2,\)"):
        simulate(rtol=[1e-6, 1e-7])
    with pytest.raises(ValueError, match=r"t1 must be a scalar"):
        simulate(t1=[1.0, 2.0])


def test_non_numeric_input_is_rejected():
    """A wrong type is a TypeError (a wrong value of the right type a ValueError); both name it."""
    with pytest.raises(TypeError, match=r"alpha_p must be a real number or array of real numbers.*got alpha_p='fast'"):
        simulate(alpha_p="fast")
    with pytest.raises(TypeError, match=r"p0 must be a real number"):
        simulate(p0=1 + 2j)
    with pytest.raises(TypeError, match=r"eta must be a real number.*not a boolean; got eta=True"):
        simulate(eta=True)
    with pytest.raises(TypeError, match=r"s0 must be a real number"):
        simulate(s0=None)


def test_shapes_that_do_not_broadcast_are_named():
    with pytest.raises(ValueError, match=r"do not broadcast.*p0\(3,\).*eta\(2,\)"):
        simulate(p0=np.ones(3), eta=np.zeros(2))


def test_simsiam_flag_and_tau0():
    with pytest.raises(TypeError, match=r"simsiam must be True or False; got simsiam=1"):
        simulate(simsiam=1)
    with pytest.raises(ValueError, match=r"tau0 is fixed at 1 when simsiam=True"):
        simulate(simsiam=True, tau0=0.5)
    # tau0 = 1 is exactly SimSiam's value: accepted, and the same run as leaving it unset
    same = simulate(simsiam=True, tau0=1.0)
    np.testing.assert_array_equal(np.asarray(same.p), np.asarray(simulate(simsiam=True).p))
    with pytest.raises(ValueError, match=r"beta must satisfy beta >= 0"):
        simulate(simsiam=True, beta=-1.0)


def test_time_grid_rules():
    with pytest.raises(ValueError, match=r"ts must be strictly increasing"):
        simulate(t1=None, num_points=None, ts=[0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"ts must satisfy ts >= 0; got ts=-1.0"):
        simulate(t1=None, num_points=None, ts=[-1.0, 1.0])
    with pytest.raises(ValueError, match=r"give either ts or \(t1, num_points\)"):
        simulate(ts=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"ts must be a 1-D array of at least 2 times"):
        simulate(t1=None, num_points=None, ts=[1.0])


def test_dtype_rules():
    with pytest.raises(ValueError, match=r"dtype must be float32 or float64; got dtype='int32'"):
        simulate(dtype="int32")
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match=r"dtype=float64 needs 64-bit JAX"):
            _params.resolve_dtype("float64")
    finally:
        jax.config.update("jax_enable_x64", True)


def test_analytic_companions_validate_their_parameters():
    with pytest.raises(ValueError, match=r"alpha_p must satisfy alpha_p > 0; got alpha_p=0.0"):
        invariant(1.0, 1.0, alpha_p=0.0)
    with pytest.raises(ValueError, match=r"sigma2 must satisfy sigma2 >= 0"):
        collapse_threshold(1.0, sigma2=-1.0)
    with pytest.raises(ValueError, match=r"eta must satisfy eta >= 0"):
        fixed_points(1.0, eta=-0.1)
    with pytest.raises(ValueError, match=r"beta must satisfy beta >= 0"):
        tau_closed_form(np.linspace(0, 1, 3), np.ones(3), beta=-1.0)
    with pytest.raises(ValueError, match=r"t must be 1-D and match the last axis of p"):
        tau_closed_form(np.linspace(0, 1, 3), np.ones(4), beta=1.0)
    with pytest.raises(ValueError, match=r"s must satisfy s >= 0"):
        classify_mode_fixed_point(0.0, -1.0)


def test_interval_descriptions():
    assert _params.Interval(0.0, 1.0, upper_closed=False).describe("gamma_ema") == "0 <= gamma_ema < 1"
    assert _params.PARAMETER_RANGES["alpha_p"].describe("alpha_p") == "alpha_p > 0"
    assert _params.Interval().describe("p0") == "p0 finite"

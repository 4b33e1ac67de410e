"""Every function issue 5 names exists (one enumeration, so a missing name fails here even if
its own test file forgot it). The numerical checks of each live in the module's test file:
test_linalg, test_fft, test_numpy_stats, test_complex, test_special, test_stats,
test_integrate, test_optimize, test_debug_nans, test_subgradients."""
from __future__ import annotations

import importlib

import pytest

REQUIRED = {
    "chainrule.numpy.linalg": """solve inv pinv det slogdet cholesky eigh eigvalsh eig svd qr
        lstsq norm matrix_power matrix_rank cond multi_dot tensorsolve""",
    "chainrule.numpy.fft": """fft ifft rfft irfft fft2 ifft2 rfft2 irfft2 fftn ifftn rfftn irfftn
        fftfreq rfftfreq fftshift ifftshift""",
    "chainrule.numpy": """sort argsort partition median percentile quantile nanmedian nansum
        nanmean nanvar nanstd nanmax nanmin nanprod cumsum cumprod nancumsum nancumprod diff
        ediff1d gradient interp polyval polyfit convolve correlate cov corrcoef histogram
        unique nonzero searchsorted digitize bincount trapezoid cross count_nonzero
        real imag conj angle abs""",
    "chainrule.scipy.special": """gamma gammaln loggamma digamma polygamma beta betaln betainc
        gammainc gammaincc erf erfc erfinv erfcx ndtr ndtri log_ndtr expit logit logsumexp
        softmax log_softmax xlogy xlog1py entr rel_entr kl_div i0 i0e i1 i1e j0 j1 y0 y1
        multigammaln zeta sinc expi exp1""",
    "chainrule.scipy.linalg": """cholesky cho_factor cho_solve solve_triangular lu_factor
        lu_solve expm sqrtm block_diag eigh""",
    "chainrule.scipy.integrate": "odeint",
    "chainrule.scipy.optimize": "minimize",
    "chainrule": "wirtinger grad debug_nans",
}

DISTRIBUTIONS = {
    "norm": "logpdf pdf logcdf cdf sf",
    "multivariate_normal": "logpdf pdf entropy",
    "t": "logpdf pdf logcdf cdf sf", "gamma": "logpdf pdf logcdf cdf sf",
    "beta": "logpdf pdf logcdf cdf sf", "dirichlet": "logpdf pdf",
    "poisson": "logpmf pmf logcdf cdf sf", "bernoulli": "logpmf pmf logcdf cdf sf",
    "binom": "logpmf pmf logcdf cdf sf", "laplace": "logpdf pdf logcdf cdf sf",
    "logistic": "logpdf pdf logcdf cdf sf", "cauchy": "logpdf pdf logcdf cdf sf",
    "expon": "logpdf pdf logcdf cdf sf", "uniform": "logpdf pdf logcdf cdf sf",
    "chi2": "logpdf pdf logcdf cdf sf", "lognorm": "logpdf pdf logcdf cdf sf",
    "truncnorm": "logpdf pdf logcdf cdf sf",
}


@pytest.mark.parametrize("module", sorted(REQUIRED))
def test_issue_names_exist(module):
    mod = importlib.import_module(module)
    missing = [n for n in REQUIRED[module].split() if not callable(getattr(mod, n, None))]
    assert not missing, f"{module} lacks {missing}"


@pytest.mark.parametrize("dist", sorted(DISTRIBUTIONS))
def test_distribution_methods_exist(dist):
    stats = importlib.import_module("chainrule.scipy.stats")
    d = getattr(stats, dist, None)
    assert d is not None, f"chainrule.scipy.stats lacks {dist}"
    missing = [m for m in DISTRIBUTIONS[dist].split() if not callable(getattr(d, m, None))]
    assert not missing, f"chainrule.scipy.stats.{dist} lacks {missing}"


def test_config_debug_nans_exists():
    import chainrule as cr
    assert hasattr(cr, "config") and hasattr(cr.config, "debug_nans")
    assert hasattr(cr.config, "update")


def test_readme_coverage_table_is_up_to_date():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, str(root / "tools" / "coverage_table.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

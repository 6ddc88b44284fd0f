#!/usr/bin/env python3
"""Generate the scikit-learn reference fixtures for the Learning module tests.

Run once from this directory (`python3 make_lr_fixture.py`); the JSON files it
writes are committed and read by LearningTests. The tests never run this script.

Each case: raw X and y, scikit-learn's StandardScaler mean_/scale_, and
LogisticRegression(C=1.0, tol=1e-12, max_iter=10000) (lbfgs, L2, intercept not
penalised) fitted on the standardised X: coef_, intercept_ and predict_proba.
lbfgs stops on its relative-decrease test with a gradient of ~1e-7..1e-6 left, so
each case also records the same model fitted by scikit-learn's exact
solver="newton-cholesky" (gradient ~1e-13) for a tight comparison.
"""
import json
import platform

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def case_basic(rng):
    """500 x 8, columns with very different scales and offsets, noisy logistic labels."""
    n, p = 500, 8
    scales = np.array([1.0, 10.0, 0.1, 100.0, 5.0, 0.01, 3.0, 50.0])
    offsets = np.array([0.0, 100.0, -5.0, 1000.0, 2.0, 0.5, -30.0, 7.0])
    z_std = rng.standard_normal((n, p))
    x = z_std * scales + offsets
    true_w = np.array([1.2, -0.8, 0.5, 0.0, 0.3, -1.5, 0.05, 0.9])
    y = (rng.uniform(size=n) < sigmoid(z_std @ true_w + 0.2)).astype(float)
    return x, y


def case_hard(rng):
    """400 x 10, near-collinear columns, a constant column and ~15% positives."""
    n = 400
    a = rng.standard_normal(n)
    b = rng.standard_normal(n)
    cols = [
        a,
        a + 0.05 * rng.standard_normal(n),        # almost a copy of column 0
        a - b + 0.01 * rng.standard_normal(n),    # almost a linear combination
        b * 20.0 + 300.0,
        np.full(n, 5.3),                          # zero variance: scaler scale 1
        rng.exponential(2.0, n),                  # skewed
        rng.standard_normal(n) * 1e-3,            # tiny scale
        0.7 * b + 0.3 * rng.standard_normal(n),   # correlated with column 3
        rng.randint(0, 2, n).astype(float),      # binary feature
        rng.standard_normal(n),                   # pure noise
    ]
    x = np.column_stack(cols)
    logit = -2.2 + 1.5 * a - 0.7 * b + 0.4 * cols[5] - 0.5 * cols[8]
    y = (rng.uniform(size=n) < sigmoid(logit)).astype(float)
    return x, y


def case_separable(rng):
    """60 x 3, perfectly separable: only the L2 penalty keeps the solution finite."""
    n = 60
    x = rng.standard_normal((n, 3)) * np.array([1.0, 2.0, 0.5])
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)
    return x, y


def objective_gradient(xs, y, w, b, c):
    """Gradient of 0.5*||w||^2 + C * sum logloss, the objective the Swift code minimises."""
    r = sigmoid(xs @ w + b) - y
    return np.concatenate([w + c * (xs.T @ r), [c * r.sum()]])


def make_case(name, x, y):
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    model = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(xs, y)
    w, b = model.coef_[0], model.intercept_[0]
    grad = objective_gradient(xs, y, w, b, 1.0)
    exact = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000, solver="newton-cholesky").fit(xs, y)
    exact_grad = objective_gradient(xs, y, exact.coef_[0], exact.intercept_[0], 1.0)
    return {
        "name": name,
        "rows": int(x.shape[0]),
        "cols": int(x.shape[1]),
        "x": x.ravel().tolist(),          # row-major
        "y": y.tolist(),
        "scalerMean": scaler.mean_.tolist(),
        "scalerScale": scaler.scale_.tolist(),
        "c": 1.0,
        "coefficients": w.tolist(),
        "intercept": float(b),
        "probabilities": model.predict_proba(xs)[:, 1].tolist(),
        "sklearnIterations": int(model.n_iter_[0]),
        "sklearnGradientInfNorm": float(np.abs(grad).max()),
        "newtonCholeskyCoefficients": exact.coef_[0].tolist(),
        "newtonCholeskyIntercept": float(exact.intercept_[0]),
        "newtonCholeskyGradientInfNorm": float(np.abs(exact_grad).max()),
    }


def main():
    rng = np.random.RandomState(7)
    cases = [
        make_case("basic", *case_basic(rng)),
        make_case("hard", *case_hard(rng)),
        make_case("separable", *case_separable(rng)),
    ]
    meta = {
        "generator": "make_lr_fixture.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    for case in cases:
        with open(f"lr_{case['name']}.json", "w") as f:
            json.dump({"meta": meta, **case}, f)
        print(case["name"], "positives", int(sum(case["y"])), "of", case["rows"],
              "sklearn iterations", case["sklearnIterations"],
              "gradient inf-norm", case["sklearnGradientInfNorm"],
              "newton-cholesky gradient inf-norm", case["newtonCholeskyGradientInfNorm"])


if __name__ == "__main__":
    main()

"""Python's xgboost evaluates a model exported by lgc-shell; the Swift test must agree exactly.

Made once with:
  lgc-shell -c 'fetch demo 10; set xgboost.n_estimators 5; set xgboost.max_depth 3; train tier2;
                export features fx.csv; export model xgboost fx.json'
  python3 make_xgb_fixture.py fx.csv fx.json > xgb_python_predictions.json   (xgboost 3.2.0 from PyPI)
Three NaN cells are planted so missing-value handling is compared too.
"""
import csv, json, sys
import numpy as np
import xgboost as xgb

rows = list(csv.reader(open(sys.argv[1])))
names = rows[0][1:-1]
X = np.array([[float(v) for v in r[1:-1]] for r in rows[1:]], dtype=np.float64)[:40]
for row, name in [(3, "ema_26_ratio"), (7, "vwap_14_ratio"), (11, "volatility_24")]:
    X[row, names.index(name)] = np.nan  # features the trees split on, so missing != 0 shows
booster = xgb.Booster(model_file=sys.argv[2])
predictions = booster.predict(xgb.DMatrix(X.astype(np.float32), feature_names=names, missing=np.nan))
print(json.dumps({
    "xgboost_version": xgb.__version__,
    "feature_names": names,
    "model": open(sys.argv[2]).read(),  # the exact bytes: re-encoding would turn 0.0 into 0
    "rows": [[None if np.isnan(v) else float(v) for v in row] for row in X],
    "predictions": [float(p) for p in predictions],
}))

"""Times Python's xgboost on the matrix lgc-bench's xgboost_fit_* entries use (not a runtime dependency).

  lgc-shell -c 'fetch demo 30; export features /tmp/f30.csv'     # and 365 for the year
  pip install xgboost && python3 python_reference.py /tmp/f30.csv
Same parameters as lgc-shell's defaults: 100 rounds, depth 6, eta 0.1, hist, seed 42, 2 threads;
training part = the first 80 % of the labelled rows (chronological), as Dataset.make splits.
"""
import csv, statistics, sys, time
import numpy as np
import xgboost as xgb

rows = list(csv.reader(open(sys.argv[1])))[1:-1]          # header and the unlabelled latest row dropped
X = np.array([[float(v) for v in r[1:-1]] for r in rows], dtype=np.float32)
y = np.array([float(r[-1]) for r in rows], dtype=np.float32)
train = int(len(y) * 0.8)
dtrain = xgb.DMatrix(X[:train], label=y[:train], missing=np.nan)
params = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist", "max_depth": 6,
          "eta": 0.1, "seed": 42, "nthread": 2, "verbosity": 0}
for _ in range(2):
    xgb.train(params, dtrain, num_boost_round=100)
samples = []
for _ in range(15):
    start = time.perf_counter()
    xgb.train(params, dtrain, num_boost_round=100)
    samples.append(time.perf_counter() - start)
print(f"xgboost {xgb.__version__}: {train}x{X.shape[1]} fit median {statistics.median(samples) * 1000:.1f} ms "
      f"(min {min(samples) * 1000:.1f})")

# scikit-learn's side of bench/defaults-vs-sklearn.ts: the default MLP pipeline (imputer + scaler for
# numbers, one-hot for text columns, MLPClassifier/MLPRegressor with every default) on a train file,
# scored on a test file; with --grid, GridSearchCV(n_jobs=-1) over the same grid as `gradpool tune`,
# timed: the grid is a list of configurations (tune's table), each one point of GridSearchCV's
# param_grid. Prints one JSON object.
#
#   python3 sklearn_mlp.py TRAIN TEST --label COL [--drop a,b] [--regression] [--seed S]
#                          [--grid '[{"layers":[64],"lr":0.001,"alpha":0.001}, ...]' --folds K]
# TRAIN/TEST are CSV files, or idx:DIR for an MNIST-style directory (train-*/t10k-* files).
import argparse, gzip, json, os, time
import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape[0], -1).astype(np.float64)


def load(spec, label, drop):
    if spec.startswith("idx:"):
        directory, part = spec[4:].rsplit(":", 1)
        files = sorted(os.listdir(directory))
        images = next(f for f in files if f.startswith(part) and "images" in f)
        labels = next(f for f in files if f.startswith(part) and "labels" in f)
        import pandas as pd
        x = read_idx(os.path.join(directory, images))
        return pd.DataFrame(x), read_idx(os.path.join(directory, labels)).ravel().astype(int)
    import pandas as pd
    frame = pd.read_csv(spec)
    y = frame[label]
    return frame.drop(columns=[label, *drop]), y


def main():
    p = argparse.ArgumentParser()
    p.add_argument("train")
    p.add_argument("test")
    p.add_argument("--label", default="")
    p.add_argument("--drop", default="")
    p.add_argument("--regression", action="store_true")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--grid", default="")
    p.add_argument("--folds", type=int, default=3)
    a = p.parse_args()
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    import warnings
    warnings.filterwarnings("ignore")
    drop = [d for d in a.drop.split(",") if d]
    x_train, y_train = load(a.train, a.label, drop)
    x_test, y_test = load(a.test, a.label, drop)
    text = [c for c in x_train.columns if x_train[c].dtype == object]
    numbers = [c for c in x_train.columns if c not in text]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")), text),
    ])
    mlp = MLPRegressor(random_state=a.seed) if a.regression else MLPClassifier(random_state=a.seed)
    model = Pipeline([("prep", prep), ("mlp", mlp)])

    def score(fitted):
        if a.regression:
            return float(r2_score(y_test, fitted.predict(x_test)))
        return float(fitted.score(x_test, y_test))

    started = time.perf_counter()
    model.fit(x_train, y_train)
    out = {"default": score(model), "defaultSeconds": time.perf_counter() - started, "iterations": int(model.named_steps["mlp"].n_iter_)}
    # A linear model on the same preprocessing, for scale: ridge or logistic regression, defaults.
    from sklearn.linear_model import LogisticRegression, Ridge
    linear = Pipeline([("prep", prep), ("linear", Ridge() if a.regression else LogisticRegression(max_iter=1000))])
    linear.fit(x_train, y_train)
    out["linear"] = score(linear)
    if a.grid:
        params = [
            {"mlp__hidden_layer_sizes": [tuple(point["layers"])], "mlp__learning_rate_init": [point["lr"]], "mlp__alpha": [point["alpha"]]}
            for point in json.loads(a.grid)
        ]
        folds = KFold(a.folds, shuffle=True, random_state=a.seed) if a.regression else StratifiedKFold(a.folds, shuffle=True, random_state=a.seed)
        search = GridSearchCV(model, params, cv=folds, n_jobs=-1, scoring="r2" if a.regression else "accuracy")
        started = time.perf_counter()
        search.fit(x_train, y_train)
        out.update({"grid": score(search.best_estimator_), "gridSeconds": time.perf_counter() - started, "gridBest": {k.replace("mlp__", ""): v for k, v in search.best_params_.items()}, "gridCvScore": float(search.best_score_)})
    print(json.dumps(out, default=str))


main()

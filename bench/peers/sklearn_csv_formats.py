# scikit-learn's side of bench/csv-formats-vs-sklearn.ts: the same train/test files read with the
# cleaning a pandas user would write for them (thousands=",", currency and percent stripped,
# (45.00) as -45, dates through pd.to_datetime into days, month and weekday; encoding="latin-1",
# sep=";", decimal=","), then the default MLP pipeline (imputer + scaler for numbers, one-hot for
# text) and a logistic regression on the same preprocessing. Prints one JSON object.
#
#   python3 sklearn_csv_formats.py money|latin TRAIN TEST SEED
import json, sys, warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

warnings.filterwarnings("ignore")


def money(text):
    """$2,483.89 · ($45.00) · 38.8% → a float, as a user cleans such a column."""
    s = str(text).strip()
    negative = s.startswith("(") and s.endswith(")")
    s = s.strip("()").replace("$", "").replace(",", "").strip()
    percent = s.endswith("%")
    value = float(s.rstrip("%"))
    value = value / 100 if percent else value
    return -value if negative else value


def read(kind, path):
    if kind == "money":
        frame = pd.read_csv(path)
        for column in ("balance", "income", "change", "rate"):
            frame[column] = frame[column].map(money)
        when = pd.to_datetime(frame.pop("opened"), format="%m/%d/%Y")
        frame["opened_days"] = (when - pd.Timestamp("1970-01-01")).dt.days
        frame["opened_month"] = when.dt.month
        frame["opened_weekday"] = when.dt.weekday
        return frame.drop(columns=["id"]), "label"
    frame = pd.read_csv(path, encoding="latin-1", sep=";", decimal=",")
    return frame, "tarif"


def main():
    kind, train_path, test_path, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    train, label = read(kind, train_path)
    test, _ = read(kind, test_path)
    y_train, y_test = train.pop(label), test.pop(label)
    text = [c for c in train.columns if train[c].dtype == object]
    numbers = [c for c in train.columns if c not in text]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")), text),
    ])
    mlp = Pipeline([("prep", prep), ("mlp", MLPClassifier(random_state=seed))]).fit(train, y_train)
    linear = Pipeline([("prep", prep), ("linear", LogisticRegression(max_iter=1000))]).fit(train, y_train)
    levels = {c: int(train[c].nunique()) for c in text}
    print(json.dumps({"mlp": float(mlp.score(test, y_test)), "logistic": float(linear.score(test, y_test)), "levels": levels}))


main()

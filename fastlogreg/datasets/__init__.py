"""Small real data sets shipped inside the package (no download).

``breast_cancer.csv``: the Breast Cancer Wisconsin (Diagnostic) data set, 569
examples, 30 numeric features computed from digitised images of fine needle
aspirates of breast masses, and the ``diagnosis`` column (``malignant`` or
``benign``).  W. Wolberg, O. Mangasarian, N. Street, W. Street (1993), UCI Machine
Learning Repository, https://doi.org/10.24432/C5DW2B, CC BY 4.0.
"""

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = ["Dataset", "breast_cancer_path", "load_breast_cancer"]


@dataclass
class Dataset:
    X: np.ndarray  # (m, n) float64
    y: np.ndarray  # (m,) float64, 1.0 for ``positive_label``
    feature_names: list
    target_name: str
    positive_label: str
    labels: np.ndarray  # (m,) the original label strings


def breast_cancer_path():
    """Path of the shipped CSV file (header row, ``diagnosis`` as the last column)."""
    return resources.files(__name__).joinpath("breast_cancer.csv")


def load_breast_cancer():
    """The breast cancer data; y is 1.0 for ``malignant``, 0.0 for ``benign``."""
    with breast_cancer_path().open("r", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    X = np.array([[float(v) for v in row[:-1]] for row in body])
    labels = np.array([row[-1] for row in body])
    return Dataset(
        X=X, y=(labels == "malignant").astype(np.float64), feature_names=header[:-1],
        target_name=header[-1], positive_label="malignant", labels=labels,
    )

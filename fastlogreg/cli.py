"""The ``fastlogreg`` command (also ``python -m fastlogreg``)."""

import argparse
import sys
import time

import numpy as np

from . import __version__
from .datasets import load_breast_cancer
from .functional import gradient_descent, sigmoid


def _split(m, test_size, seed):
    order = np.random.default_rng(seed).permutation(m)
    n_test = max(1, int(round(test_size * m)))
    return order[n_test:], order[:n_test]


def demo(args):
    data = load_breast_cancer()
    train, test = _split(data.X.shape[0], args.test_size, args.seed)
    mean = data.X[train].mean(axis=0)
    std = data.X[train].std(axis=0)
    std[std == 0] = 1.0
    X_train = (data.X[train] - mean) / std
    X_test = (data.X[test] - mean) / std
    y_train, y_test = data.y[train], data.y[test]
    print(
        f"breast cancer (Wisconsin diagnostic): {X_train.shape[0]} training and "
        f"{X_test.shape[0]} held-out examples, {X_train.shape[1]} features"
    )
    print(f"batch gradient descent, learning rate {args.learning_rate}, {args.n_iter} iterations")
    start = time.perf_counter()
    result = gradient_descent(X_train, y_train, learning_rate=args.learning_rate, n_iter=args.n_iter)
    elapsed = time.perf_counter() - start
    every = max(1, args.n_iter // 10)
    for k in range(0, result.n_iter, every):
        print(f"  iteration {k:5d}  cost {result.costs[k]:.6f}")
    print(f"  iteration {result.n_iter - 1:5d}  cost {result.costs[-1]:.6f}")

    def accuracy(X, y):
        return float(np.mean((sigmoid(X @ result.w + result.b) >= 0.5) == (y == 1.0)))

    print(f"training accuracy: {accuracy(X_train, y_train):.4f}")
    print(f"held-out accuracy: {accuracy(X_test, y_test):.4f}")
    print(f"time: {elapsed:.3f} s (including compilation on a first run)")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="fastlogreg", description="Fast logistic regression.")
    parser.add_argument("--version", action="version", version=f"fastlogreg {__version__}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("demo", help="train on the shipped breast cancer data set (the default)")
    p.add_argument("--learning-rate", type=float, default=0.5)
    p.add_argument("--n-iter", type=int, default=500)
    p.add_argument("--test-size", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=demo)
    return parser


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        argv = ["demo"]
    args = parser.parse_args(argv)
    return args.func(args)

"""The ``fastlogreg`` command (also ``python -m fastlogreg``).

    fastlogreg demo                                  train on the shipped data set
    fastlogreg train DATA --target COLUMN --out MODEL
    fastlogreg predict MODEL DATA [--proba] [--out FILE]
    fastlogreg evaluate MODEL DATA --target COLUMN
    fastlogreg bench                                 kernel and fit speed ratios

Results go to stdout; progress, notes and errors to stderr.  A problem with the
input (a missing or unreadable file, a bad column, a model that does not fit the
data) is one line on stderr and exit status 2; ``--debug`` adds the traceback.
"""

import argparse
import csv
import io
import math
import os
import sys
import time
import traceback
import warnings
from importlib import resources

import numpy as np

from . import __version__, _metrics
from ._bench import format_table
from ._datafiles import DataError, read_table
from ._estimator import _SOLVER_NAMES
from ._persistence import ModelFileError, atomic_write, load
from ._plot import PlotUnavailable, check_plotting, plot_cost_curve
from ._progress import Progress
from ._solvers import choose_solver

EXIT_USAGE = 2  # bad input or options, as argparse uses for usage errors
DEMO_PLOT = "fastlogreg-demo.png"


class CommandError(Exception):
    """A problem the user can fix; the message is one line."""


# --- data and model helpers -------------------------------------------------------------

class _Frame:
    """The smallest DataFrame-like object: an array with column names, so that the
    estimator records and checks feature names without pandas."""

    def __init__(self, values, columns):
        self.values = values
        self.columns = columns

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


def _as_input(model, X):
    """X as the model expects it: with the model's feature names, if it has them.
    Named data was read by those names (read_table); unnamed data (.npy, .npz) is taken
    to be in the model's column order."""
    names = getattr(model, "feature_names_in_", None)
    return X if names is None else _Frame(X, list(names))


def _check_width(model, table):
    n = model.n_features_in_
    if table.X.shape[1] != n:
        raise CommandError(
            f"{table.path} has {table.X.shape[1]} feature columns, but the model was trained on {n}"
        )


def _load_model(path):
    try:
        return load(path)
    except FileNotFoundError:
        raise CommandError(f"no such model file: {path}") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory, not a model file") from None
    except OSError as exc:
        raise CommandError(f"cannot read model file {path}: {exc.strerror or exc}") from None


def _read_for_model(model, path, target=None, need_target=False):
    """The Table of ``path`` with the model's features (by name where both have names)."""
    names = getattr(model, "feature_names_in_", None)
    table = read_table(path, target=target, features=None if names is None else list(names),
                       need_target=need_target)
    _check_width(model, table)
    return table


def _labels01(model, y, path):
    """y (labels as read from a file) as 0/1 for the model's classes."""
    classes = model.classes_
    known = np.isin(y, classes)
    if not known.all():
        unknown = list(dict.fromkeys(np.asarray(y)[~known].tolist()))
        shown = ", ".join(_label(v) for v in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise CommandError(
            f"{path}: the target holds labels the model does not know: {shown} "
            f"(the model's classes: {_label(classes[0])}, {_label(classes[1])})"
        )
    return (y == classes[1]).astype(np.float64)


def stratified_split(y, test_size, seed):
    """(train, test) row indices, sorted: ``test_size`` of each class held out (at least
    one example of each class stays in training)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        k = min(int(round(test_size * rows.size)), rows.size - 1)
        test.append(rows[:k])
        train.append(rows[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


# --- metrics and reports ----------------------------------------------------------------

def _label(value):
    """A class label for messages: 'malignant' or 1, not np.str_('malignant')."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _scores(model, X, y01):
    z = model.decision_function(_as_input(model, X))
    predicted = (z > 0).astype(np.float64)
    return {
        "examples": y01.size,
        "accuracy": _metrics.accuracy(y01, predicted),
        "log-loss": _metrics.log_loss(y01, z),
        "ROC AUC": _metrics.roc_auc(y01, z),
        "confusion": _metrics.confusion_matrix(y01, predicted),
    }


def _format_scores(columns):
    """The metrics of each named column (a dict name -> scores) as a table."""
    def cell(key, value):
        if key == "examples":
            return str(value)
        return "n/a (one class)" if math.isnan(value) else f"{value:.4f}"

    names = list(columns)
    keys = ["examples", "accuracy", "log-loss", "ROC AUC"]
    rows = [[""] + names] + [[key] + [cell(key, columns[name][key]) for name in names] for key in keys]
    return format_table(rows[0], rows[1:])


def _format_confusion(confusion, classes, what):
    labels = [str(c) for c in classes]
    rows = [["true \\ predicted"] + labels]
    rows += [[labels[i]] + [str(int(v)) for v in confusion[i]] for i in range(2)]
    title = f"confusion matrix ({what}; rows: true class, columns: predicted)"
    return title + "\n" + format_table(rows[0], rows[1:])


def _format_trace(curve, rows=10):
    """The cost at about ``rows`` iterations, spread from the first to the last."""
    picks = np.unique(np.linspace(0, curve.size - 1, min(rows, curve.size)).round().astype(int))
    return "\n".join(f"  iteration {k + 1:5d}  cost {curve[k]:.8f}" for k in picks)


def _seconds(t):
    return f"{t * 1e3:.1f} ms" if t < 1.0 else f"{t:.2f} s"


def _note(args, message, kind="note"):
    """A line on stderr; notes (not warnings) are left out with --quiet."""
    if kind != "note" or not args.quiet:
        print(f"fastlogreg: {kind}: {message}", file=sys.stderr)


def _check_directory(path, option):
    """Fail before a long fit, not after it, when an output cannot be written there."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"{option} {path}: the directory {directory} does not exist")


# --- train and demo ---------------------------------------------------------------------

def _warm_up(model, X, y):
    """Fit a copy for one iteration on a few rows of each class, so that the timed fit
    excludes numba's one-off compilation (or loading from its cache) of the kernels.
    Returns the seconds it took."""
    start = time.perf_counter()
    params = model.get_params()
    if params["solver"] == "auto":  # the solver the full fit will use, not the probe's
        params["solver"] = choose_solver(X.shape[0], X.shape[1], params["C"])
    probe = type(model)(**{**params, "max_iter": 1, "callback": None})
    rows = np.concatenate([np.flatnonzero(y == label)[:3] for label in np.unique(y)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe.fit(X[rows], y[rows])
    return time.perf_counter() - start


def _fit(args, X, y, names):
    """Fit on (X, y), standardising first if asked; returns (model, seconds, warm-up
    seconds, warnings).

    Standardisation is folded into the coefficients afterwards, so the model (and the
    saved file) takes the raw features."""
    from ._estimator import LogisticRegression

    mean = scale = None
    if args.standardize:
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0  # a constant column stays as it is
        X = (X - mean) / scale
    C = math.inf if args.penalty == "none" else args.C
    model = LogisticRegression(
        C=C, solver=args.solver, tol=args.tol, max_iter=args.max_iter, n_threads=args.threads,
        learning_rate=args.learning_rate,
    )
    warm_up_seconds = _warm_up(model, X, y)
    with Progress(total=args.max_iter, desc="fit", enabled=not args.quiet) as progress:
        model.set_params(callback=progress)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            model.fit(_Frame(X, names) if names else X, y)
            seconds = time.perf_counter() - start
    model.set_params(callback=None)  # the progress bar is no part of the model
    if args.standardize:
        w = model.coef_.ravel().astype(np.float64) / scale
        model.intercept_ = np.array([model.intercept_[0] - w @ mean], dtype=model.coef_.dtype)
        model.coef_ = w.astype(model.coef_.dtype).reshape(1, -1)
    return model, seconds, warm_up_seconds, [str(w.message) for w in caught]


def _train(args, data_path, title):
    if args.penalty == "none" and args.C is not None:
        raise CommandError("--C has no effect with --penalty none (no penalty is C = inf)")
    args.C = 1.0 if args.C is None else args.C
    plot_path = args.plot
    if plot_path is not None:
        try:
            check_plotting()
        except PlotUnavailable as exc:
            if args.command != "demo":  # asked for explicitly: say so before training
                raise CommandError(str(exc)) from None
            _note(args, str(exc))
            plot_path = None

    for path, option in ((args.out, "--out"), (plot_path, "--plot")):
        if path is not None:
            _check_directory(path, option)
    table = read_table(data_path, target=args.target, need_target=True)
    y = table.y
    train, test = stratified_split(y, args.test_size, args.seed) if args.test_size > 0 \
        else (np.arange(y.size), np.arange(0))
    n_classes = np.unique(y).size
    print(f"data: {title}: {y.size} examples, {table.X.shape[1]} features, "
          f"target {args.target or 'y'!r} with {n_classes} classes")
    print(f"split: {train.size} for training, {test.size} held out (seed {args.seed})"
          + (", features standardised on the training part" if args.standardize else ""))

    model, seconds, warm_up_seconds, messages = _fit(args, table.X[train], y[train], table.feature_names)
    for message in messages:
        _note(args, " ".join(message.split()), "warning")
    curve = model.objective_curve_
    C_text = "none (C = inf)" if math.isinf(model.C) else f"L2, C = {model.C:g}"
    print(f"fit: solver {model.solver_}, penalty {C_text}, tol {model.tol:g}: "
          f"{model.n_iter_[0]} iterations ({model.n_passes_} passes over X) in {_seconds(seconds)}, "
          f"final cost {model.objective_:.8f}")
    print(f"     (before it, {_seconds(warm_up_seconds)} to compile or load the kernels, once per process)")
    if curve.size:
        print(_format_trace(curve))
    y01 = _labels01(model, y, table.path)
    columns = {"training": _scores(model, table.X[train], y01[train])}
    if test.size:
        columns["held-out"] = _scores(model, table.X[test], y01[test])
    print(f"metrics (positive class {_label(model.classes_[1])}):")
    print(_format_scores(columns))
    last = list(columns)[-1]
    print(_format_confusion(columns[last]["confusion"], model.classes_, last))

    if args.out is not None:
        model.save(args.out)
        print(f"model saved to {args.out}")
    if plot_path is not None:
        # Every fit here starts from w = 0, b = 0, where the cost is log 2 whatever the data.
        plot_cost_curve(curve, plot_path, f"fastlogreg: {model.solver_} on {title}, penalty {C_text}",
                        start=math.log(2.0))
        print(f"cost curve written to {plot_path}")
    return 0


def cmd_train(args):
    return _train(args, args.data, os.path.basename(args.data))


def cmd_demo(args):
    from .datasets import breast_cancer_path

    print("fastlogreg demo: Breast Cancer Wisconsin (Diagnostic), UCI (CC BY 4.0), shipped with the package")
    args.target = "diagnosis"
    with resources.as_file(breast_cancer_path()) as path:
        return _train(args, path, "breast cancer")


# --- predict and evaluate ---------------------------------------------------------------

def cmd_predict(args):
    model = _load_model(args.model)
    X = _as_input(model, _read_for_model(model, args.data).X)
    if args.proba:
        header = [f"proba_{c}" for c in model.classes_]
        rows = model.predict_proba(X).tolist()  # Python floats: written in full (repr)
    else:
        header = ["prediction"]
        rows = [[label] for label in model.predict(X).tolist()]

    def write(text_file):
        writer = csv.writer(text_file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

    if args.out is None:
        write(sys.stdout)
    else:
        def write_binary(f):
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            write(text)
            text.flush()
            text.detach()  # leave f open for atomic_write's fsync

        atomic_write(args.out, write_binary)
        _note(args, f"{len(rows)} {'probabilities' if args.proba else 'predictions'} written to {args.out}")
    return 0


def cmd_evaluate(args):
    model = _load_model(args.model)
    table = _read_for_model(model, args.data, target=args.target, need_target=True)
    y01 = _labels01(model, table.y, table.path)
    name = os.path.basename(table.path)
    scores = _scores(model, table.X, y01)
    print(f"model {args.model}: {model.n_features_in_} features, classes {_label(model.classes_[0])} "
          f"and {_label(model.classes_[1])}")
    print(f"metrics (positive class {_label(model.classes_[1])}):")
    print(_format_scores({name: scores}))
    print(_format_confusion(scores["confusion"], model.classes_, name))
    return 0


# --- bench ------------------------------------------------------------------------------

def cmd_bench(args):
    import numba

    from . import _bench
    from ._threads import thread_limit

    with thread_limit(args.threads):
        X, y = _bench.make_data(args.rows, args.features, dtype=args.dtype, order=args.order)
        print(f"fastlogreg bench: X {args.rows} x {args.features} {args.dtype} ({args.order} order), "
              f"{numba.get_num_threads()} threads, numba {numba.__version__}, numpy {np.__version__}; "
              f"medians of interleaved runs")
        kernel = _bench.measure_kernel(X, y, args.repeat)
        print(f"\none cost-and-gradient evaluation (runs: {args.repeat})")
        print(_bench.format_table(["", "time", "time / fused"], [
            ["read-only pass over X (memory yardstick)", f"{kernel['read_ms']:.2f} ms",
             f"{kernel['fraction_of_read']:.2f}"],
            ["fused kernel (fastlogreg)", f"{kernel['kernel_ms']:.2f} ms", "1.00"],
            ["NumPy form", f"{kernel['numpy_ms']:.2f} ms", f"{kernel['speedup_vs_numpy']:.2f}"],
        ]))
        if args.fit_repeat > 0:
            fits = _bench.measure_fit(X, y, C=args.C, tol=args.tol, max_iter=args.max_iter,
                                      repeat=args.fit_repeat, with_sklearn=not args.no_sklearn)
            reference = fits[0][1]
            print(f"\nfit, L-BFGS, C={args.C:g}, tol={args.tol:g}, max_iter={args.max_iter} "
                  f"(runs: {args.fit_repeat})")
            print(_bench.format_table(
                ["", "time", "time / fastlogreg", "iterations", "objective"],
                [[name, _seconds(t), f"{t / reference:.2f}", str(n_iter), f"{objective:.10f}"]
                 for name, t, n_iter, objective in fits],
            ))
            if args.no_sklearn or not _bench.have_sklearn():
                print("(scikit-learn " + ("skipped)" if args.no_sklearn else "is not installed)"))
    return 0


# --- the parser -------------------------------------------------------------------------

def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def _common_options(default):
    """--quiet and --debug, on the main parser and on every subcommand (SUPPRESS on the
    subcommands, so that they do not overwrite a value given before the subcommand)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--quiet", "-q", action="store_true", default=default,
                        help="no progress bar or notes on stderr (results still go to stdout)")
    parent.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback of an error")
    return parent


def _add_model_options(p, standardize_default):
    g = p.add_argument_group("model")
    g.add_argument("--C", type=_positive_float, default=None, metavar="C",
                   help="inverse strength of the L2 penalty, > 0 (default 1; 'inf': no penalty)")
    g.add_argument("--penalty", choices=["l2", "none"], default="l2",
                   help="l2 (default) or none (= C inf); L1 and elastic-net are not implemented yet")
    g.add_argument("--solver", choices=_SOLVER_NAMES, default="auto",
                   help="default auto: newton-cholesky for few features, else lbfgs")
    g.add_argument("--max-iter", type=_positive_int, default=100, help="solver iterations (default 100)")
    g.add_argument("--tol", type=float, default=1e-4,
                   help="stop when the largest gradient component is at most this (default 1e-4)")
    g.add_argument("--learning-rate", type=_positive_float, default=1.0,
                   help="step size of the gd solver (default 1)")
    g.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=standardize_default,
                   help="scale features to mean 0, variance 1 on the training part before fitting; "
                        "folded into the saved coefficients, so the model takes raw features "
                        f"(default: {'on' if standardize_default else 'off'})")
    g.add_argument("--threads", type=_positive_int, default=None,
                   help="kernel threads (default: numba's, NUMBA_NUM_THREADS)")
    g = p.add_argument_group("evaluation")
    g.add_argument("--test-size", type=_fraction, default=0.2,
                   help="fraction of each class held out for the metrics (default 0.2; 0: none)")
    g.add_argument("--seed", type=int, default=0, help="seed of the held-out split (default 0)")


_FORMATS = (
    "Data files: CSV with a header row (.csv, comma-separated, UTF-8), NumPy .npy (one 2-D array; "
    "--target is a column index, -1 the last) or .npz (arrays X and y; --target names the label "
    "array, default y), Parquet (.parquet, .pq; needs pyarrow: pip install pyarrow)."
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastlogreg", parents=[_common_options(False)],
        description="Fast logistic regression on the command line. Run 'fastlogreg COMMAND --help' "
                    "for the options of a command; with no command, runs the demo.",
        epilog="Exit status: 0 success, 2 bad input or options (one line on stderr; --debug for the "
               "traceback), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"fastlogreg {__version__}")
    common = _common_options(argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "demo", parents=[common], help="train on a data set shipped with the package",
        description="Train on the Breast Cancer Wisconsin (Diagnostic) data set shipped with the package "
                    "(569 examples, 30 features, labels benign/malignant): prints the cost per "
                    "iteration, training and held-out accuracy, log-loss, ROC AUC, iterations and "
                    f"time, and draws the cost curve to {DEMO_PLOT} when matplotlib is installed.",
    )
    _add_model_options(p, standardize_default=True)
    p.add_argument("--plot", metavar="PNG", default=DEMO_PLOT, help=f"cost curve image (default {DEMO_PLOT})")
    p.add_argument("--no-plot", dest="plot", action="store_const", const=None, help="draw no cost curve")
    p.add_argument("--out", metavar="MODEL", help="also save the model to this file")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "train", parents=[common], help="train a model on a data file",
        description="Train on a data file, hold out --test-size of it, print the metrics on both parts, "
                    "and save the model (trained on the training part) with --out. " + _FORMATS,
    )
    p.add_argument("data", metavar="DATA", help="data file (.csv, .npy, .npz, .parquet)")
    p.add_argument("--target", metavar="COLUMN",
                   help="the label column (required for CSV and Parquet; two distinct labels)")
    p.add_argument("--out", metavar="MODEL", help="save the model to this file (.npz model format)")
    p.add_argument("--plot", metavar="PNG", help="draw the cost per iteration to this PNG (needs matplotlib)")
    _add_model_options(p, standardize_default=False)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "predict", parents=[common], help="predict the classes (or probabilities) of a data file",
        description="Write one CSV row per input row, in input order, after a header row: the predicted "
                    "class (column 'prediction') or, with --proba, the probability of each class "
                    "(columns proba_<class>). Features are matched to the model by column name where "
                    "the file has names (other columns, such as the target, are ignored), by position "
                    "otherwise. " + _FORMATS,
    )
    p.add_argument("model", metavar="MODEL", help="a model file saved by 'fastlogreg train --out'")
    p.add_argument("data", metavar="DATA", help="data file (.csv, .npy, .npz, .parquet)")
    p.add_argument("--proba", action="store_true", help="write class probabilities instead of classes")
    p.add_argument("--out", metavar="FILE", help="write the CSV to this file (default: stdout)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "evaluate", parents=[common], help="score a model on a labelled data file",
        description="Accuracy, log-loss, ROC AUC and the confusion matrix of a saved model on a "
                    "labelled data file. " + _FORMATS,
    )
    p.add_argument("model", metavar="MODEL", help="a model file saved by 'fastlogreg train --out'")
    p.add_argument("data", metavar="DATA", help="data file (.csv, .npy, .npz, .parquet)")
    p.add_argument("--target", metavar="COLUMN", help="the label column (required for CSV and Parquet)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "bench", parents=[common], help="time the fused kernel and a fit against NumPy and scikit-learn",
        description="Time, on seeded synthetic data, one cost-and-gradient evaluation (fused kernel, a "
                    "read-only pass over X, the NumPy form) and a whole L-BFGS fit (fastlogreg, scipy "
                    "on a NumPy objective, scikit-learn when installed). Medians of interleaved runs; "
                    "compare ratios, not absolute times, on a busy machine. Where OPENBLAS_CORETYPE or "
                    "OPENBLAS_L2_SIZE are set, unset them for a fair comparison with NumPy.",
    )
    p.add_argument("--rows", type=_positive_int, default=200_000, help="examples (default 200000)")
    p.add_argument("--features", type=_positive_int, default=50, help="features (default 50)")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--order", choices=["C", "F"], default="C", help="memory order of X (default C)")
    p.add_argument("--repeat", type=_positive_int, default=7, help="kernel timing runs (default 7)")
    p.add_argument("--fit-repeat", type=_non_negative_int, default=3,
                   help="fit timing runs (default 3; 0 skips the fits)")
    p.add_argument("--C", type=_positive_float, default=1.0, metavar="C", help="for the fits (default 1)")
    p.add_argument("--tol", type=float, default=1e-4, help="for the fits (default 1e-4)")
    p.add_argument("--max-iter", type=_positive_int, default=100, help="for the fits (default 100)")
    p.add_argument("--threads", type=_positive_int, default=None, help="kernel threads")
    p.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn")
    p.set_defaults(func=cmd_bench)
    return parser


def _one_line(exc):
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    message = " ".join(str(exc).split())
    if isinstance(exc, (CommandError, DataError, ModelFileError, PlotUnavailable, ValueError, TypeError)):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message} (run with --debug for the traceback)"


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:  # no command: the demo (with the options given, if any)
        args = parser.parse_args([*argv, "demo"])
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("fastlogreg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (``| head``): stop quietly, and keep Python
        # from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(f"fastlogreg: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE

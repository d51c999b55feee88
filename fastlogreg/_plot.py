"""The cost curve of a fit as a PNG (matplotlib, an optional extra)."""

import numpy as np

from ._persistence import atomic_write


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed; the message says how to install it."""


_INSTALL_HINT = (
    "matplotlib is not installed, so no plot is drawn (pip install matplotlib: the fastlogreg[plot] extra)"
)


def check_plotting():
    """Raise PlotUnavailable unless matplotlib can be imported."""
    _figure_classes()


def _figure_classes():
    try:
        # The object-oriented API with the Agg canvas: no pyplot, no global backend
        # switch, works without a display.
        from matplotlib import ticker
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable(_INSTALL_HINT) from None
    return Figure, FigureCanvasAgg, ticker


def plot_cost_curve(curve, path, title, start=None, ylabel="cost J (mean log-loss + L2 penalty)"):
    """Draw ``curve`` (the cost after each iteration; ``start``, if given, the cost
    before the first, drawn at iteration 0) and write it to ``path`` as a PNG,
    atomically.  The y axis is logarithmic when the cost spans more than a factor of ten."""
    Figure, FigureCanvasAgg, ticker = _figure_classes()
    curve = np.asarray(curve, dtype=np.float64)
    iterations = np.arange(1, curve.size + 1)
    if start is not None:
        curve = np.r_[start, curve]
        iterations = np.r_[0, iterations]
    fig = Figure(figsize=(7.0, 4.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(iterations, curve, color="tab:blue", linewidth=1.8,
            marker="o" if curve.size <= 40 else None, markersize=4)
    if curve.size and np.all(curve > 0) and curve.max() > 10 * curve.min():
        ax.set_yscale("log")
        ylabel += ", log scale"
        plain = ticker.FuncFormatter(lambda value, _: f"{value:g}")  # 0.2, not 2×10⁻¹
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.35)
    if curve.size:
        ax.annotate(f"final {curve[-1]:.6g}", xy=(iterations[-1], curve[-1]), xytext=(-8, 12),
                    textcoords="offset points", ha="right", fontsize=9)
    atomic_write(path, lambda f: fig.savefig(f, format="png"))

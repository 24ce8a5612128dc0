"""The plots of the Sample & loss tab, one module per plot, all built from ``gui.plotkit``."""

from softmax_lab.core.display import PlotId
from softmax_lab.gui.plots.curve import LossCurvePlot
from softmax_lab.gui.plots.gradient import GradientPlot
from softmax_lab.gui.plots.heatmap import ProbabilityHeatmap
from softmax_lab.gui.plots.loss import LossPlot
from softmax_lab.gui.plots.sample import SamplePlot

__all__ = [
    "PLOT_NAMES",
    "GradientPlot",
    "LossCurvePlot",
    "LossPlot",
    "ProbabilityHeatmap",
    "SamplePlot",
]

PLOT_NAMES = tuple(plot.title for plot in PlotId)
"""The plots' titles in the order of ``MainWindow.plots()`` and of the Alt+1…5 keys."""

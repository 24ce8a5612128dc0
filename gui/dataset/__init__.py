"""The Dataset tab: dataset-wide views of one evaluation, one module per view family."""

from softmax_lab.gui.dataset.panel import DatasetPanel

__all__ = ["DatasetPanel"]

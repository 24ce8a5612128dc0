"""The peers every figure is measured against: the notebook's numpy recipe, torch's separate
ops, the exp + max floor, and the notebook's matplotlib figure of the app's five views."""

from __future__ import annotations

import numpy as np

from softmax_lab.core.scratch import cross_entropy_recipe

FLOOR_BLOCK_ROWS = 256


def numpy_recipe(logits: np.ndarray, labels: np.ndarray) -> float:
    """Per-sample losses and predictions the notebook's way, and their mean."""
    losses, _predictions = cross_entropy_recipe(logits, labels)
    return float(losses.mean())


def torch_separate(logits, labels) -> float:
    """torch's own ops, one call each: softmax, cross_entropy, argmax (tensors given)."""
    import torch
    import torch.nn.functional as F

    with torch.inference_mode():
        torch.softmax(logits, 1)
        losses = F.cross_entropy(logits, labels, reduction="none")
        logits.argmax(1)
        return float(losses.mean())


def make_floor(logits: np.ndarray):
    """One exp pass over every element (into a cache-sized buffer) plus one max pass.

    Nothing that computes a softmax can read less or do fewer transcendental operations.
    """
    rows = min(FLOOR_BLOCK_ROWS, logits.shape[0])
    buffer = np.empty((rows, logits.shape[1]), dtype=logits.dtype)

    def floor() -> None:
        n = logits.shape[0]
        with np.errstate(over="ignore"):
            for s in range(0, n, rows):
                e = min(n, s + rows)
                np.exp(logits[s:e], out=buffer[: e - s])
        logits.max(1)

    return floor


class NotebookFigure:
    """The app's five views drawn the notebook way: matplotlib on the Agg backend, every axis
    cleared and re-plotted, then ``fig.canvas.draw()``.

    Views, laid out as the window lays them out: the selected sample's logits and softmax bars,
    per-sample loss bars with the mean, the gradient bars, the probability heatmap, and the
    -log p curve with every sample placed on it.
    """

    def __init__(self, width_px: int = 1280, height_px: int = 800) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(width_px / 100, height_px / 100), dpi=100)
        self.canvas = FigureCanvasAgg(self.figure)
        grid = self.figure.add_gridspec(3, 2)
        self.logit_ax = self.figure.add_subplot(grid[0, 0])
        self.prob_ax = self.figure.add_subplot(grid[0, 1])
        self.loss_ax = self.figure.add_subplot(grid[1, 0])
        self.grad_ax = self.figure.add_subplot(grid[1, 1])
        self.heat_ax = self.figure.add_subplot(grid[2, 0])
        self.curve_ax = self.figure.add_subplot(grid[2, 1])
        self.curve_p = np.unique(
            np.concatenate([np.logspace(-6, -1, 200), np.linspace(0.1, 1.0, 200)])
        )

    def redraw(self, logits: np.ndarray, labels: np.ndarray, selected: int) -> None:
        n, c = logits.shape
        rows = np.arange(n)
        # The notebook's numbers: stable softmax, -log p[y], argmax, the gradient (p - y) / n.
        shifted = logits - logits.max(1, keepdims=True)
        e = np.exp(shifted)
        p = e / e.sum(1, keepdims=True)
        p_true = p[rows, labels]
        losses = -np.log(p_true)
        predictions = p.argmax(1)
        correct = predictions == labels
        gradient = p[selected].copy()
        gradient[labels[selected]] -= 1.0
        gradient /= n

        for ax in (
            self.logit_ax,
            self.prob_ax,
            self.loss_ax,
            self.grad_ax,
            self.heat_ax,
            self.curve_ax,
        ):
            ax.clear()
        classes = np.arange(c)
        self.logit_ax.bar(classes, logits[selected], color="tab:blue")
        self.logit_ax.axhline(0.0, color="black", linewidth=0.8)
        self.logit_ax.set_title(f"Logits of sample {selected}")
        self.prob_ax.bar(classes, p[selected], color="tab:orange")
        self.prob_ax.set_ylim(0, 1)
        self.prob_ax.set_title("Softmax probabilities")
        self.loss_ax.bar(rows, losses, color=np.where(correct, "tab:green", "tab:red"))
        self.loss_ax.axhline(losses.mean(), linestyle="--", color="black")
        self.loss_ax.set_title(f"Per-sample loss (mean {losses.mean():.4g})")
        self.grad_ax.bar(classes, gradient, color=np.where(gradient > 0, "tab:red", "tab:green"))
        self.grad_ax.axhline(0.0, color="black", linewidth=0.8)
        self.grad_ax.set_title("Gradient of the loss")
        image = self.heat_ax.imshow(p, vmin=0, vmax=1, aspect="auto", cmap="viridis")
        self.heat_ax.scatter(labels, rows, s=12, facecolors="white", edgecolors="black")
        self.heat_ax.set_title(f"Probabilities {n} x {c}")
        if not hasattr(self, "_colorbar"):
            self._colorbar = self.figure.colorbar(image, ax=self.heat_ax)
        self.curve_ax.plot(self.curve_p, -np.log(self.curve_p), color="black")
        self.curve_ax.scatter(p_true, losses, c=np.where(correct, "tab:green", "tab:red"), s=16)
        self.curve_ax.set_title("Loss curve -log p")
        self.canvas.draw()

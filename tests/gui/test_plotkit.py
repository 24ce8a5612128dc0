"""gui.plotkit's shared plot pieces, on their own."""

import numpy as np
import pyqtgraph as pg

from softmax_lab.gui.plotkit import CasedOutline
from softmax_lab.gui.theme import LIGHT


def test_a_cased_outline_goes_from_two_roles_to_none_and_back(qtbot):
    """Found by the 100,000-step monkey (seed 2028, step 2,985): selecting a sample with no
    true or predicted class after one with both raised in pyqtgraph (the old y0 of two bars
    added to no heights), and the window stopped drawing that plot."""
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    plot = widget.addPlot()
    plot.addItem(pg.BarGraphItem(x=[0, 1, 2], height=[1.0, -2.0, 0.5], width=0.8))
    widget.resize(300, 200)
    widget.show()
    qtbot.waitExposed(widget)
    casing = CasedOutline(plot)
    casing.set(LIGHT, [0, 1, 2], [1.0, -2.0, 0.5], 0.8, ["true", "pred", None])
    assert list(casing.outlines.opts["x"]) == [0.0, 1.0]
    casing.set(LIGHT, [0, 1, 2], [1.0, -2.0, 0.5], 0.8, [None, None, None])
    widget.grab()  # painted with nothing outlined
    assert len(casing.outlines.opts["x"]) == 0
    casing.set(LIGHT, [0, 1, 2], [1.0, -2.0, 0.5], 0.8, [None, None, "true"])
    widget.grab()
    assert list(casing.outlines.opts["x"]) == [2.0]
    assert np.asarray(casing.outlines.opts["height"])[0] > 0.5  # drawn just outside the bar

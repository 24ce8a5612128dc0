"""A seeded monkey drives the real window; nothing escapes, views agree, undo restores all."""

import pytest
from monkey import Monkey

from softmax_lab.gui import MainWindow


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_monkey_small(qtbot, tmp_path, seed):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    report = Monkey(window, seed, tmp_path).run(150)
    assert report.steps == 150
    assert report.undone_to_start
    assert report.rejected > 0  # junk was typed and refused
    assert len(report.actions) >= 15

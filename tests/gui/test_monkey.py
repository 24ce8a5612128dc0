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


def test_two_windows_and_a_training_thread_at_once(qtbot, tmp_path, monkeypatch):
    from monkey import Troop

    monkeypatch.setenv("SOFTMAX_LAB_STATE_DIR", str(tmp_path / "state"))
    troop = Troop(3, tmp_path)
    try:
        report = troop.run(200)
    finally:
        troop.close()
    assert sum(m.steps for m in report.monkeys) == 200
    assert all(m.undone_to_start for m in report.monkeys)
    assert report.autosaves_checked == 2  # each window's own file held its own table
    assert report.api_calls > 0
    assert report.api_tables >= 1
    assert not list((tmp_path / "state" / "sessions").iterdir())  # clean closes left nothing

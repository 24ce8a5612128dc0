"""Files the app ships: the window icon and the README screenshot."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
ICON = HERE / "icon.svg"

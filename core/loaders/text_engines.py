"""Fast parsers for text tables: pyarrow's CSV reader when installed, else ``numpy.loadtxt``.

Each engine either returns a ``Table`` that the careful pass in ``text_files`` would have
produced too, or None (or raises) for anything it is unsure of, and the careful pass then
decides, with a precise message if the file is wrong. Both engines stream the file: the values
go straight into one float64 array that grows in place, so the peak memory is about the result.

pyarrow (optional, ``pip install pyarrow``) parses on every core and is about twice as fast as
``numpy.loadtxt`` for a large table; it cannot split on runs of spaces, so such .txt files go to
``numpy.loadtxt``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from softmax_lab.core.loaders._common import open_regular

if TYPE_CHECKING:
    from softmax_lab.core.loaders.text_files import Layout, Table

# pyarrow reads this many bytes at a time (and at least a few rows' worth).
_BLOCK_BYTES = 1 << 22


def parse_with_engines(path: Path, layout: Layout, name: str) -> Table | None:
    for engine in (_with_arrow, _with_loadtxt):
        try:
            table = engine(path, layout, name)
        except MemoryError:
            raise
        except Exception:  # whatever went wrong, the careful pass will say it precisely
            table = None
        if table is not None:
            return table
    return None


class _Rows:
    """A float64 (n, width) array filled a block of rows at a time, growing in place.

    The first size is a guess from the file size; unused rows are never touched (so they cost
    no memory) and are cut off at the end. Growing and shrinking use ``ndarray.resize``, which
    reallocates without a second copy for arrays this large (the allocator remaps the pages).
    """

    def __init__(self, width: int, estimate: int) -> None:
        self.array = np.empty((max(16, estimate), width), dtype=np.float64)
        self.n = 0

    def take(self, k: int) -> np.ndarray:
        rows, width = self.array.shape
        if self.n + k > rows:
            self.array.resize((max(self.n + k, rows + rows // 2), width), refcheck=False)
        block = self.array[self.n : self.n + k]
        self.n += k
        return block

    def finish(self) -> np.ndarray:
        self.array.resize((self.n, self.array.shape[1]), refcheck=False)
        return self.array


def _estimate_rows(path: Path, layout: Layout) -> int:
    size = path.stat().st_size - max(0, layout.body_offset)
    return int(1.2 * size / max(1, layout.row_bytes)) + 16


def _number_columns(layout: Layout) -> list[int]:
    text = set(layout.text_columns)
    return [j for j in range(layout.width) if j not in text]


def _texts_are_plain(texts: dict[int, list[str]]) -> bool:
    """No NUL bytes (binary data) and no line breaks (the careful pass reads line by line)."""
    return not any(
        "\x00" in cell or "\n" in cell or "\r" in cell for cells in texts.values() for cell in cells
    )


def _table(values: np.ndarray, layout: Layout, texts: dict[int, list[str]], path: Path, name: str):
    from softmax_lab.core.loaders.text_files import Table, file_rows

    return Table(
        values, _number_columns(layout), texts, file_rows(path, name, layout.header is not None)
    )


def _with_arrow(path: Path, layout: Layout, name: str) -> Table | None:
    if layout.delimiter is None:
        return None
    try:
        import pyarrow as pa  # type: ignore[import-untyped, import-not-found, unused-ignore]
        import pyarrow.csv as pacsv  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    names = [f"c{j}" for j in range(layout.width)]
    numbers = _number_columns(layout)
    text = [j for j in range(layout.width) if j not in set(numbers)]
    types: dict[str, Any] = {names[j]: pa.float64() for j in numbers}
    types.update({names[j]: pa.string() for j in text})
    read = pacsv.ReadOptions(
        column_names=names,
        block_size=max(_BLOCK_BYTES, 16 * layout.row_bytes),
        use_threads=True,
    )
    parse = pacsv.ParseOptions(
        delimiter=layout.delimiter, quote_char='"', double_quote=True, ignore_empty_lines=True
    )
    # No null values: an empty cell or "NA" must fail here and get the careful pass's message.
    convert = pacsv.ConvertOptions(
        column_types=types,
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        check_utf8=True,
    )
    rows = _Rows(len(numbers), _estimate_rows(path, layout))
    texts: dict[int, list[str]] = {j: [] for j in text}
    with open_regular(path, name, "rb") as fh:
        fh.seek(layout.body_offset)
        reader = pacsv.open_csv(fh, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            block = rows.take(batch.num_rows)
            for k, j in enumerate(numbers):
                block[:, k] = batch.column(j).to_numpy(zero_copy_only=False)
            for j, cells in texts.items():
                cells.extend(batch.column(j).to_pylist())
    pa.default_memory_pool().release_unused()
    if not _texts_are_plain(texts):
        return None
    return _table(rows.finish(), layout, texts, path, name)


def _with_loadtxt(path: Path, layout: Layout, name: str) -> Table | None:
    numbers = _number_columns(layout)
    text = [j for j in range(layout.width) if j not in set(numbers)]
    with open_regular(path, name, "rb") as fh:
        fh.seek(layout.body_offset)
        stream = io.TextIOWrapper(fh, encoding="utf-8", newline=None)
        values = np.loadtxt(
            stream,
            dtype=np.float64,
            delimiter=layout.delimiter,
            comments=None,
            ndmin=2,
            quotechar='"' if layout.delimiter is not None else None,
            usecols=numbers if text else None,
        )
        stream.detach()
    if values.shape[1] != len(numbers):
        return None
    texts: dict[int, list[str]] = {j: [] for j in text}
    if text:
        # loadtxt skipped these columns without checking the rows' widths: one csv pass does.
        assert layout.delimiter is not None  # text columns need a header, hence a delimiter
        with open_regular(path, name, "rb") as fh:
            fh.seek(layout.body_offset)
            stream = io.TextIOWrapper(fh, encoding="utf-8", newline="")
            n = 0
            for cells in csv.reader(stream, delimiter=layout.delimiter):
                if not cells:
                    continue
                if len(cells) != layout.width:
                    return None
                for j, column in texts.items():
                    column.append(cells[j])
                n += 1
            stream.detach()
        if n != values.shape[0] or not _texts_are_plain(texts):
            return None
    return _table(values, layout, texts, path, name)

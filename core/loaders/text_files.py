"""Text tables (.csv, .tsv, .txt): class columns of logits, a label column, text columns.

Owns the layout rules:

* The delimiter is a comma for .csv and a tab for .tsv; a .txt uses a tab or comma if its first
  line has one, else runs of spaces (``np.savetxt``'s default).
* The first row is a header when a cell in it is not a number, or when it is quoted above
  unquoted data (what ``save_logits`` writes for numeric class names), or when it is pandas'
  default integer column names 0..C-1.
* With a header: a column named ``label``/``labels``/``target``/``targets``/``y`` holds the labels
  (at most one; numbers, or class names when more than half of its cells are not numbers),
  **index columns** are never classes — an unnamed first column (the index ``to_csv`` writes,
  also after a filter, whatever it holds) and any ``Unnamed: k`` column are dropped when they
  hold 0, 1, 2, ... and kept as metadata otherwise, and a column named like an id (``id``,
  ``index``, ``sample``, ``…_id``, see ``ID_COLUMNS``) holding distinct whole numbers is
  metadata — and **text columns** are kept beside the logits: a column named ``text`` or
  ``texts`` becomes ``texts``; any other column becomes ``metadata`` (as strings, or booleans
  when every cell is true/false) when its header is not a number and more than half of its
  non-empty cells are not numbers. Every other column is a class column, every one of whose
  cells must be a number: a column of numbers with one junk cell is an error naming the row,
  the column and the text. One notice lists which columns became classes, labels, metadata and
  texts. A file without a header has only class columns.
* Cells cannot contain line breaks (each line is one row).

Parsing goes through the fastest engine that is installed (``text_engines``) and falls back to
a careful pass in Python, which is the reference: it reports the first bad cell by file row and
column, and it decides what an engine could not (odd spacing, whitespace-only lines, columns
whose first cell misleads).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from softmax_lab.core.loaders._build import Found, RowOf, build
from softmax_lab.core.loaders._common import (
    DataError,
    LoadedLogits,
    check_memory,
    list_keys,
    open_regular,
)
from softmax_lab.core.loaders.text_engines import parse_with_engines

# Header names that mark the label column of a CSV file (compared case-insensitively).
LABEL_COLUMNS = frozenset({"label", "labels", "target", "targets", "y"})
TEXT_COLUMNS = frozenset({"text", "texts"})
# An unnamed first column is the index pandas' to_csv writes ('' or, read back and saved again,
# 'Unnamed: 0'): never a class, whatever it holds.
_UNNAMED = re.compile(r"unnamed: \d+")
# Headers that name sample identifiers: such a column of distinct whole numbers is metadata.
ID_COLUMNS = frozenset(
    {
        "id",
        "ids",
        "index",
        "idx",
        "sample",
        "sample_id",
        "sample_idx",
        "row",
        "row_id",
        "uid",
        "image_id",
        "example_id",
        "key",
    }
)
_BOOLEANS = {"true": True, "false": False}
# Reading a text table needs up to this many bytes per byte of file: the careful pass holds the
# decoded text and its lines besides the float64 result (the engines need about 1x).
_MEMORY_FACTOR = 3.0
# The head read to find the delimiter and the header: lines are read until two hold data.
_HEAD_LINES_LIMIT = 64 << 20


@dataclass
class Layout:
    """What the first two data lines say about the table."""

    delimiter: str | None
    header: list[str] | None
    width: int
    # Byte offset of the first row after the header (after a BOM for a file without one).
    body_offset: int
    # Bytes in the first data row: how the engines guess the number of rows.
    row_bytes: int = 64
    # Columns read as text by the engines (later checked against the majority rule).
    text_columns: list[int] = field(default_factory=list)
    # Columns whose header names them as text whatever they hold.
    named_text: frozenset[int] = frozenset()
    label_column: int | None = None
    # The careful pass must do it all (UTF-16 text): engines are not tried.
    careful_only: bool = False


@dataclass
class Table:
    """Parsed columns: ``numbers`` (n, k) float64 for ``number_columns``, text for the others."""

    numbers: np.ndarray
    number_columns: list[int]
    texts: dict[int, list[str]]
    row_of: RowOf


def load_text_file(path: Path, name: str, source: str, ext: str) -> LoadedLogits:
    size = path.stat().st_size
    check_memory(name, _MEMORY_FACTOR * size, f"this {size / 1e9:.1f} GB file")
    layout = sniff(path, name, ext)
    table = None if layout.careful_only else parse_with_engines(path, layout, name)
    if table is not None and not _majority_rule_holds(table, layout):
        table = None
    if table is None:
        table = parse_carefully(path, layout, name)
    found, notices = assemble_columns(table, layout, name)
    return build(name, source, found, notices)


# ---- layout ------------------------------------------------------------------------------------


def decode_text(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export is UTF-16
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(f"{name}: the UTF-16 text is damaged") from None
    if b"\x00" in raw:
        raise DataError(f"{name}: contains binary data, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: not a UTF-8 text file (undecodable byte at offset {exc.start})"
        ) from None


def sniff(path: Path, name: str, ext: str) -> Layout:
    """Delimiter, header and text columns, from the first lines only."""
    with open_regular(path, name, "rb") as fh:
        start = fh.read(2)
        if start in (b"\xff\xfe", b"\xfe\xff"):
            text = decode_text(start + fh.read(), name)
            return _layout(text.splitlines(), ext, name, body_offset=-1, careful_only=True)
        fh.seek(0)
        head = b""
        content = 0
        while content < 2 and len(head) < _HEAD_LINES_LIMIT:
            line = fh.readline()
            if not line:
                break
            head += line
            content += bool(line.strip())
    lines = decode_text(head, name).splitlines(keepends=True)
    # Where the body starts: just after the first line with content (if it is the header).
    offsets = []
    position = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    for line in lines:
        position += len(line.encode("utf-8"))
        offsets.append(position)
    return _layout(lines, ext, name, body_offset=-1, offsets=offsets)


def _layout(
    lines: list[str],
    ext: str,
    name: str,
    *,
    body_offset: int,
    careful_only: bool = False,
    offsets: list[int] | None = None,
) -> Layout:
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        raise DataError(f"{name}: the file is empty (only blank lines)")
    first = lines[content[0]].rstrip("\r\n")
    delimiter = choose_delimiter(ext, first)
    cells = split_line(first, delimiter)
    second = lines[content[1]].rstrip("\r\n") if len(content) > 1 else None
    header = None
    if is_header(cells, first, second):
        header = [cell.strip() for cell in cells]
        if second is None:
            raise DataError(f"{name}: the file has a header row but no data rows")
        if offsets is not None:
            body_offset = offsets[content[0]]
    elif offsets is not None:
        body_offset = offsets[content[0]] - len(lines[content[0]].encode("utf-8"))
    data_line = lines[content[1 if header is not None else 0]]
    layout = Layout(
        delimiter,
        header,
        len(cells),
        body_offset,
        row_bytes=len(data_line.encode("utf-8")),
        careful_only=careful_only,
    )
    if header is not None:
        labels = [j for j, h in enumerate(header) if h.lower() in LABEL_COLUMNS]
        if len(labels) > 1:
            found = ", ".join(f"'{header[j]}'" for j in labels)
            raise DataError(f"{name}: more than one label column ({found}); keep only one")
        layout.label_column = labels[0] if labels else None
        layout.named_text = frozenset(j for j, h in enumerate(header) if h.lower() in TEXT_COLUMNS)
        data = split_line(second, delimiter) if second is not None else []
        layout.text_columns = [
            j
            for j, h in enumerate(header)
            if j in layout.named_text
            or (not is_number(h) and j < len(data) and data[j].strip() and not is_number(data[j]))
        ]
    return layout


def choose_delimiter(ext: str, first_line: str) -> str | None:
    """Comma for .csv, tab for .tsv; for .txt guess from the first line (None = whitespace)."""
    if ext == ".csv":
        return ","
    if ext == ".tsv":
        return "\t"
    if "\t" in first_line:
        return "\t"
    if "," in first_line:
        return ","
    return None  # np.savetxt's default: values separated by spaces


def split_line(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter))


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def is_header(cells: list[str], line: str, next_line: str | None) -> bool:
    """Decide whether the first row names the columns.

    Numbers-only rows are data, with two exceptions that keep numeric class names readable:
    a quoted first row above unquoted data (what save_logits writes for such names), and
    pandas' default integer column names 0..C-1 (optionally after an empty index header).
    """
    stripped = [cell.strip() for cell in cells]
    if any(cell and not is_number(cell) for cell in stripped):
        return True
    if '"' in line and next_line is not None and '"' not in next_line:
        return True
    names = stripped[1:] if stripped and stripped[0] == "" else stripped
    return len(names) >= 2 and names == [str(i) for i in range(len(names))]


def _is_text_column(numeric: int, nonempty: int) -> bool:
    return 2 * numeric < nonempty


def _majority_rule_holds(table: Table, layout: Layout) -> bool:
    """Whether every column an engine read as text really is one (else the careful pass decides
    it is a class column and reports its first junk cell)."""
    for j, cells in table.texts.items():
        if j in layout.named_text:
            continue
        stripped = [c.strip() for c in cells]
        nonempty = sum(1 for c in stripped if c)
        if not _is_text_column(sum(1 for c in stripped if c and is_number(c)), nonempty):
            return False
    return True


# ---- the careful pass --------------------------------------------------------------------------


def _content(path: Path, name: str) -> tuple[list[str], list[int]]:
    with open_regular(path, name, "rb") as fh:
        raw = fh.read()
    lines = decode_text(raw, name).splitlines()
    del raw
    return lines, [i for i, line in enumerate(lines) if line.strip()]


def parse_carefully(path: Path, layout: Layout, name: str) -> Table:
    """Parse every cell in Python: slow, exact, and the judge of every error message."""
    lines, content = _content(path, name)
    if layout.header is not None:
        content = content[1:]
    rows = [i + 1 for i in content]  # 1-based file lines, as an editor shows them
    width = len(layout.header) if layout.header is not None else None
    expected_from = "the header has"

    def cells_of_rows() -> Iterator[tuple[int, list[str]]]:
        nonlocal width, expected_from
        for row, index in zip(rows, content, strict=True):
            cells = split_line(lines[index], layout.delimiter)  # a stray quote must not eat rows
            if width is None:
                width = len(cells)
                expected_from = f"row {row} has"
            if len(cells) != width:
                raise DataError(
                    f"{name}: row {row} has {len(cells)} values but {expected_from} {width}"
                )
            yield row, cells

    text_columns: set[int] = set(layout.named_text)
    if layout.header is not None:
        candidates = [
            j for j, h in enumerate(layout.header) if j not in text_columns and not is_number(h)
        ]
        if candidates:
            numeric = dict.fromkeys(candidates, 0)
            nonempty = dict.fromkeys(candidates, 0)
            for _row, cells in cells_of_rows():
                for j in candidates:
                    cell = cells[j].strip()
                    if cell:
                        nonempty[j] += 1
                        numeric[j] += is_number(cell)
            text_columns |= {j for j in candidates if _is_text_column(numeric[j], nonempty[j])}

    number_columns: list[int] = []
    texts: dict[int, list[str]] = {j: [] for j in sorted(text_columns)}
    values: list[list[float]] = []
    for row, cells in cells_of_rows():
        if not number_columns and width:
            number_columns = [j for j in range(width) if j not in text_columns]
        try:
            values.append([float(cells[j]) for j in number_columns])
        except ValueError:
            _raise_bad_cell(cells, number_columns, row, name)
        for j, column in texts.items():
            column.append(cells[j])
    if width and not number_columns:
        number_columns = [j for j in range(width) if j not in text_columns]
    numbers = np.array(values, dtype=np.float64).reshape(len(values), len(number_columns))
    return Table(numbers, number_columns, texts, rows.__getitem__)


def _raise_bad_cell(cells: list[str], columns: list[int], row: int, name: str) -> None:
    for j in columns:
        cell = cells[j]
        if not is_number(cell):
            if not cell.strip():
                raise DataError(f"{name}: row {row}, column {j + 1} is empty") from None
            shown = cell if len(cell) <= 40 else cell[:37] + "..."
            raise DataError(
                f"{name}: row {row}, column {j + 1}: {shown!r} is not a number"
            ) from None
    raise AssertionError("unreachable: a cell failed to parse")  # pragma: no cover


def file_rows(path: Path, name: str, header: bool) -> RowOf:
    """Data row index -> file line, computed only when a message needs it."""
    rows: list[int] = []

    def row_of(index: int) -> int:
        if not rows:
            _lines, content = _content(path, name)
            rows.extend(i + 1 for i in content[1 if header else 0 :])
        return rows[index]

    return row_of


# ---- from columns to a record -----------------------------------------------------------------


def _is_index_header(header: str) -> bool:
    """'' or 'Unnamed: k': the header pandas writes (or reads back) for an unnamed index."""
    return not header.strip() or bool(_UNNAMED.fullmatch(header.strip().lower()))


def _is_id_header(header: str) -> bool:
    lowered = header.strip().lower()
    return lowered in ID_COLUMNS or lowered.endswith(("_id", "_idx", " id"))


def _distinct_whole_numbers(column: np.ndarray) -> bool:
    with np.errstate(invalid="ignore"):
        whole = bool(np.all(np.isfinite(column) & (column == np.round(column))))
    return whole and np.unique(column).shape[0] == column.shape[0]


def assemble_columns(
    table: Table, layout: Layout, name: str, metadata_columns: frozenset[int] = frozenset()
) -> tuple[Found, list[str]]:
    """Which columns are classes, labels, metadata and texts (see the module's docstring).

    ``metadata_columns``: number columns known not to be classes (a Parquet file's named index).
    """
    values = table.numbers
    header = layout.header
    found = Found(logits=values, row_of=table.row_of)
    notices: list[str] = []
    if header is None:
        return found, notices
    n = values.shape[0]
    columns = list(table.number_columns)
    aside: set[int] = set()  # number columns that are not classes
    metadata_from: list[str] = []
    label = layout.label_column
    if label is not None:
        if label in table.texts:  # class names
            found.labels = [cell.strip() for cell in table.texts[label]]
        else:
            found.labels = values[:, columns.index(label)].copy()
            aside.add(label)
    taken: set[str] = set()

    def key_for(text: str) -> str:
        key, suffix = text, 2
        while key in taken:
            key, suffix = f"{text}_{suffix}", suffix + 1
        taken.add(key)
        return key

    for k, j in enumerate(columns):
        if j in aside:
            continue
        column = values[:, k]
        if (j == 0 and _is_index_header(header[0])) or _UNNAMED.fullmatch(header[j].lower()):
            # pandas' to_csv writes the index first under an empty header ('Unnamed: 0' once
            # read back and saved again): never a class.
            aside.add(j)
            what = "the first column (unnamed)" if j == 0 else f"column '{header[j]}'"
            if np.array_equal(column, np.arange(n)):
                notices.append(f"{what} is a row index (0, 1, 2, ...) and was ignored")
            else:
                key = key_for("index" if not header[j] else header[j])
                found.metadata[key] = _as_metadata_numbers(column)
                metadata_from.append(key)
                notices.append(
                    f"{what} is the row index pandas writes (not 0, 1, 2, ..., e.g. after a "
                    f"filter): kept as metadata '{key}', not a class"
                )
        elif j in metadata_columns or (
            _is_id_header(header[j]) and _distinct_whole_numbers(column)
        ):
            aside.add(j)
            key = key_for(header[j])
            found.metadata[key] = _as_metadata_numbers(column)
            metadata_from.append(key)
    keep = [k for k, j in enumerate(columns) if j not in aside]
    if not keep:
        what = "only a label column" if layout.label_column is not None else "only text"
        raise DataError(f"{name}: no class columns, {what}")
    found.class_names = [header[columns[k]] or f"class_{i}" for i, k in enumerate(keep)]
    if len(keep) != len(columns):
        found.logits = drop_columns(values, keep)

    texts_from: list[str] = []
    for j, cells in table.texts.items():
        if j == label:
            continue
        shown = header[j] or ("index" if j == 0 else f"column {j + 1}")
        if j in layout.named_text and found.texts is None:
            found.texts = cells
            texts_from.append(shown)
            continue
        key = key_for(shown)
        lowered = {cell.strip().lower() for cell in cells}
        if lowered and lowered <= set(_BOOLEANS):
            found.metadata[key] = np.array([_BOOLEANS[c.strip().lower()] for c in cells])
        else:
            found.metadata[key] = np.array(cells, dtype=str)
        metadata_from.append(key)
    parts = [f"{len(keep)} class columns ({list_keys(found.class_names, limit=5)})"]
    if label is not None:
        kind = "class names" if label in table.texts else "numbers"
        parts.append(f"labels from '{header[label]}' ({kind})")
    if metadata_from:
        parts.append(f"metadata from {list_keys(metadata_from)}")
    if texts_from:
        parts.append(f"texts from {list_keys(texts_from)}")
    if len(parts) > 1 or len(keep) != len(header):
        notices.append("columns read: " + "; ".join(parts))
    return found, notices


def _as_metadata_numbers(column: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        whole = bool(np.all(np.isfinite(column) & (column == np.round(column))))
    if whole and bool(np.all(np.abs(column) < 2.0**53)):
        return column.astype(np.int64)
    return column.copy()


def drop_columns(values: np.ndarray, keep: list[int]) -> np.ndarray:
    """``values[:, keep]`` without a second full-size copy when ``values`` owns its memory.

    Rows are compacted in place, a block at a time (each block is copied out before any of its
    memory is overwritten, and a row never moves up past an unread one), then the buffer is
    shrunk: the peak stays at the table's size instead of twice it.
    """
    n, width = values.shape
    k = len(keep)
    if not (values.flags.owndata and values.flags.c_contiguous and values.flags.writeable):
        return np.ascontiguousarray(values[:, keep])
    flat = values.reshape(-1)
    block = max(1, (1 << 20) // max(1, width))
    for start in range(0, n, block):
        stop = min(n, start + block)
        flat[start * k : stop * k] = values[start:stop][:, keep].reshape(-1)
    del flat
    values.resize((n * k,), refcheck=False)
    return values.reshape(n, k)

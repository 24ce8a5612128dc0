"""Parquet files (``DataFrame.to_parquet``), read with pyarrow (the ``parquet`` extra).

The columns mean what they mean in a CSV file (``text_files``): number columns are classes, a
``label``/``target``/... column holds the labels (numbers or class names), a ``text`` column the
texts, other text and boolean columns are metadata, and a column named like an id (``id``,
``sample``, ...) holding distinct whole numbers is metadata. The DataFrame's index, which pandas
stores as a column (``__index_level_0__`` when unnamed, a RangeIndex only in the schema's
metadata), is never a class: an unnamed one is dropped when it is 0..N-1 and kept as metadata
``index`` otherwise, a named one is metadata. A column whose cells are lists of numbers (one
row of logits per sample, e.g. ``df["logits"] = list(array)``) holds all the logits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from softmax_lab.core.loaders._build import Found, build
from softmax_lab.core.loaders._common import (
    DataError,
    LoadedLogits,
    check_memory,
    list_keys,
    open_regular,
    short,
)
from softmax_lab.core.loaders.text_files import (
    LABEL_COLUMNS,
    TEXT_COLUMNS,
    Layout,
    Table,
    assemble_columns,
)

PARQUET_EXTENSIONS = frozenset({".parquet", ".pq"})
_UNNAMED_INDEX = "__index_level_0__"
_RANGE_FIELDS = (("start", 0), ("stop", 0), ("step", 1))


def load_parquet_file(path: Path, name: str, source: str) -> LoadedLogits:
    try:
        import pyarrow as pa  # type: ignore[import-untyped, import-not-found, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise DataError(
            f"{name}: reading Parquet files needs pyarrow (pip install 'softmax-lab[parquet]'), "
            "or save the DataFrame with to_csv"
        ) from None
    with open_regular(path, name) as fh:
        return _read(fh, pa, pq, path, name, source)


def _read(fh: Any, pa: Any, pq: Any, path: Path, name: str, source: str) -> LoadedLogits:
    try:
        parquet = pq.ParquetFile(fh)
        meta = parquet.metadata
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{name}: not a valid Parquet file ({short(exc)})") from exc
    # Reading holds Arrow's columns and a float64 copy: about 16 bytes per value (a list
    # column's values are its leaf column's, however well they compress on disk).
    values = sum(
        meta.row_group(i).column(j).num_values
        for i in range(meta.num_row_groups)
        for j in range(meta.row_group(i).num_columns)
    )
    check_memory(
        name,
        16.0 * max(values, meta.num_rows * max(1, meta.num_columns)),
        f"this table of {meta.num_rows:,} rows",
    )
    try:
        table = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"{name}: the Parquet file is damaged ({short(exc)})") from exc
    if table.num_rows == 0:
        raise DataError(f"{name}: the table has no rows")
    index_names, ranges = _index_columns(table.schema, table.num_rows)
    columns = _columns(table, index_names, pa, name)
    list_columns = [key for key, (kind, _v) in columns.items() if kind == "list"]
    if list_columns:
        found, notices = _with_list_column(columns, list_columns, name)
    else:
        found, notices = _as_table(columns, index_names, table.num_rows, name)
    for range_name, values in ranges:
        # A RangeIndex is stored as (start, stop, step) only: kept as metadata when it is not
        # 0, 1, 2, ... or has a name (e.g. after df[::2] or df.rename_axis("id")).
        key = range_name or "index"
        if key in found.metadata:
            continue
        if range_name or not np.array_equal(values, np.arange(table.num_rows)):
            found.metadata[key] = values
            notices.append(f"the DataFrame's index is kept as metadata '{key}', not a class")
    found.path = path
    return build(name, source, found, notices)


def _index_columns(schema: Any, n: int) -> tuple[list[str], list[tuple[str | None, np.ndarray]]]:
    """The columns pandas stored for the DataFrame's index, and its RangeIndexes (name and
    values), which pandas describes in the schema's metadata instead of storing them."""
    raw = (schema.metadata or {}).get(b"pandas")
    if raw is None:
        return ([_UNNAMED_INDEX] if _UNNAMED_INDEX in schema.names else []), []
    columns: list[str] = []
    ranges: list[tuple[str | None, np.ndarray]] = []
    try:
        described = json.loads(raw)
        for entry in described.get("index_columns", []):
            if isinstance(entry, str):
                columns.append(entry)
            elif isinstance(entry, dict) and entry.get("kind") == "range":
                start, stop, step = (int(entry.get(k, d)) for k, d in _RANGE_FIELDS)
                count = len(range(start, stop, step)) if step else 0
                if count == n:  # a range of another length describes another table
                    label = entry.get("name")
                    ranges.append(
                        (str(label) if label is not None else None, np.arange(start, stop, step))
                    )
    except (ValueError, AttributeError, TypeError, OverflowError):
        return columns, []
    return columns, ranges


def _columns(table: Any, index_names: list[str], pa: Any, name: str) -> dict[str, tuple[str, Any]]:
    """Each column as ("number", float64 array), ("text", list of str) or ("list", 2-D array),
    index columns first (pandas writes them last)."""
    types = pa.types
    order = [c for c in index_names if c in table.column_names]
    order += [c for c in table.column_names if c not in order]
    out: dict[str, tuple[str, Any]] = {}
    for key in order:
        column = table.column(key)
        kind = column.type
        if types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if types.is_boolean(kind):
            out[key] = ("text", ["" if v is None else str(v).lower() for v in column.to_pylist()])
        elif types.is_integer(kind) or types.is_floating(kind):
            values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            out[key] = ("number", values)
        elif types.is_string(kind) or types.is_large_string(kind):
            out[key] = ("text", ["" if v is None else v for v in column.to_pylist()])
        elif (
            types.is_list(kind) or types.is_large_list(kind) or types.is_fixed_size_list(kind)
        ) and (types.is_integer(kind.value_type) or types.is_floating(kind.value_type)):
            rows = column.to_pylist()
            widths = {len(r) for r in rows if r is not None}
            if None in rows or len(widths) != 1:
                raise DataError(
                    f"{name}: column '{key}' holds lists of numbers of different lengths "
                    f"({', '.join(str(w) for w in sorted(widths)[:5])}); every row needs one "
                    "logit per class"
                )
            out[key] = ("list", np.asarray(rows, dtype=np.float64))
        else:
            out[key] = ("other", str(kind))
    return out


def _as_table(
    columns: dict[str, tuple[str, Any]], index_names: list[str], n: int, name: str
) -> tuple[Found, list[str]]:
    """The CSV rules, on the columns of a Parquet table."""
    notices: list[str] = []
    skipped = [key for key, (kind, _v) in columns.items() if kind == "other"]
    if skipped:
        notices.append(f"ignored columns of other types: {list_keys(skipped)}")
    kept = [key for key in columns if key not in skipped]
    header = ["" if key == _UNNAMED_INDEX else key for key in kept]
    numbers = [j for j, key in enumerate(kept) if columns[key][0] == "number"]
    texts = {j: columns[key][1] for j, key in enumerate(kept) if columns[key][0] == "text"}
    labels = [j for j, h in enumerate(header) if h.lower() in LABEL_COLUMNS]
    if len(labels) > 1:
        shown = ", ".join(f"'{header[j]}'" for j in labels)
        raise DataError(f"{name}: more than one label column ({shown}); keep only one")
    layout = Layout(
        delimiter=",",
        header=header,
        width=len(header),
        body_offset=0,
        label_column=labels[0] if labels else None,
        named_text=frozenset(j for j, h in enumerate(header) if h.lower() in TEXT_COLUMNS),
    )
    values = (
        np.column_stack([columns[kept[j]][1] for j in numbers])
        if numbers
        else np.zeros((n, 0), dtype=np.float64)
    )
    table = Table(np.ascontiguousarray(values), numbers, texts, lambda i: i + 1)
    named_index = frozenset(j for j, key in enumerate(kept) if key in index_names and header[j])
    found, more = assemble_columns(table, layout, name, metadata_columns=named_index)
    return found, notices + more


def _with_list_column(
    columns: dict[str, tuple[str, Any]], list_columns: list[str], name: str
) -> tuple[Found, list[str]]:
    """One column of per-sample lists holds the logits; the others are labels and metadata."""
    if len(list_columns) > 1:
        preferred = [k for k in list_columns if k.lower() in ("logits", "scores", "outputs")]
        if len(preferred) != 1:
            raise DataError(
                f"{name}: several columns hold lists of numbers ({list_keys(list_columns)}); "
                "name the logits column 'logits'"
            )
        list_columns = preferred
    key = list_columns[0]
    found = Found(logits=columns[key][1], row_of=lambda i: i + 1)
    notices = [f"logits read from the lists in column '{key}'"]
    metadata: list[str] = []
    for other, (kind, value) in columns.items():
        if other == key or kind in ("list", "other"):
            continue
        lowered = other.lower()
        if lowered in LABEL_COLUMNS and found.labels is None:
            found.labels = value
            notices.append(f"labels read from column '{other}'")
        elif lowered in TEXT_COLUMNS and kind == "text" and found.texts is None:
            found.texts = value
        elif other == _UNNAMED_INDEX and kind == "number":
            if not np.array_equal(value, np.arange(value.shape[0])):
                found.metadata["index"] = value
                metadata.append("index")
        elif kind == "text" and {v.lower() for v in value} <= {"true", "false"}:
            found.metadata[other] = np.array([v.lower() == "true" for v in value])
            metadata.append(other)
        else:
            found.metadata[other] = np.array(value) if kind == "text" else value
            metadata.append(other)
    if metadata:
        notices.append(f"metadata from {list_keys(metadata)}")
    return found, notices

"""Text tables: the fast engines (pyarrow, numpy.loadtxt) agree with the careful pass.

The careful pass in Python is the reference: every file must give the same table or the same
error message whichever engine reads it. pyarrow is optional; its tests skip without it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loader_files import write

import softmax_lab.core.loaders.text_files as text_files
from softmax_lab.core.loaders import DataError, LoadedLogits, load_logits
from softmax_lab.core.loaders.text_files import drop_columns

ENGINES = ("default", "loadtxt", "careful")


def load_with(path: Path, engine: str) -> LoadedLogits | DataError:
    with pytest.MonkeyPatch.context() as patch:
        if engine == "careful":
            patch.setattr(text_files, "parse_with_engines", lambda *args: None)
        elif engine == "loadtxt":
            patch.setitem(sys.modules, "pyarrow", None)
            patch.setitem(sys.modules, "pyarrow.csv", None)
        try:
            return load_logits(path)
        except DataError as exc:
            return exc


def same(a: LoadedLogits | DataError, b: LoadedLogits | DataError) -> None:
    if isinstance(a, DataError) or isinstance(b, DataError):
        assert str(a) == str(b)
        return
    np.testing.assert_array_equal(a.logits, b.logits)
    assert a.logits.dtype == b.logits.dtype
    for field in ("class_names", "texts", "notices", "binary"):
        assert getattr(a, field) == getattr(b, field), field
    if a.targets is None or b.targets is None:
        assert a.targets is b.targets
    else:
        np.testing.assert_array_equal(a.targets, b.targets)
    assert list(a.metadata) == list(b.metadata)
    for key in a.metadata:
        np.testing.assert_array_equal(a.metadata[key], b.metadata[key])
        assert a.metadata[key].dtype == b.metadata[key].dtype


def test_engines_are_really_used(tmp_path, monkeypatch):
    """Guards the comparisons below: the default path must not be the careful pass already."""
    path = write(tmp_path / "a.csv", "a,b\n1,2\n3,4\n")

    def refuse(*args):
        raise AssertionError("the careful pass ran")

    monkeypatch.setattr(text_files, "parse_carefully", refuse)
    assert load_logits(path).logits.tolist() == [[1, 2], [3, 4]]
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert load_logits(path).logits.tolist() == [[1, 2], [3, 4]]


CASES = {
    "plain": "a,b,c\n1,2,3\n4,5,6\n",
    "no-header": "1,2\n3,4\n",
    "label-and-index": ",a,b,label\n0,1,2,1\n1,3,4,0\n2,5,6,1\n",
    "text-columns": 'a,b,name,text,label\n1,2,"x, y",hello,0\n3,4,z,"say ""hi""",1\n',
    "blank-lines": "a,b\n\n1,2\n\n\n3,4\n\n",
    "whitespace-line": "a,b\n1,2\n   \n3,4\n",
    "spaces-around": "a,b\n 1 , 2\n3 ,4 \n",
    "crlf-bom": "\ufeffa,b\r\n1,2\r\n3,4\r\n",
    "bom-no-header": "\ufeff1,2\n3,4\n",
    "special-values": "a,b\nnan,-inf\ninf,+1e-300\nNaN,-0.0\n",
    "underscores": "a,b\n1_000,2\n3,4\n",
    "label-error-after-blank": "a,label\n1,0\n\n2,1.5\n",
    "junk": "a,b\n1,2\n3,x\n",
    "empty-cell": "a,b\n1,\n3,4\n",
    "ragged": "a,b\n1,2,3\n3,4\n",
    "nul-later": "a,b\n1,2\n3,4\x00\n",
    "nul-in-text": "a,name\n1,x\x00y\n2,z\n",
    "latin1-later": b"a,b\n1,2\n3,\xe9\n",
    "first-cell-misleads": "a,note\n1,5\n2,y\n3,z\n",
    "newline-in-quotes": 'a,note\n1,"x\ny"\n2,z\n',
    "quoted-numbers": 'a,b\n"1","2"\n3,4\n',
    "tsv": None,
    "whitespace-txt": None,
    "one-column": "score\n0.5\n-1\n",
    "utf16": "a,b\n1,2\n".encode("utf-16"),
    "bool-column": "a,ok\n1,true\n2,FALSE\n",
    "header-only-text": "a,b\n1,2\n",
    "name-labels": "cat,dog,label\n1,2,dog\n3,4,cat\n5,6,dog\n",
    "name-labels-first-is-a-number": "cat,dog,label\n1,2,7\n3,4,cat\n5,6,dog\n",
    "filtered-index": ",a,b,label\n7,1,2,1\n9,3,4,0\n12,5,6,1\n",
    "id-column": "id,a,b\n10,1,2\n11,3,4\n",
}
FILES = {
    "tsv": ("t.tsv", "a\tb\tc\n1\t2\tx\n3\t4\ty\n"),
    "whitespace-txt": ("w.txt", "1 2\n 3   4\n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_engine_agrees_with_the_careful_pass(tmp_path, case):
    name, content = FILES.get(case, ("t.csv", CASES[case]))
    path = write(tmp_path / name, content)
    outcomes = {engine: load_with(path, engine) for engine in ENGINES}
    same(outcomes["default"], outcomes["careful"])
    same(outcomes["loadtxt"], outcomes["careful"])


def test_label_errors_name_file_rows_on_the_fast_path(tmp_path):
    path = write(tmp_path / "l.csv", "a,label\n1,0\n\n\n2,1.5\n")
    with pytest.raises(DataError, match=r"^l\.csv: labels must be .* \(found 1\.5 at row 5\)$"):
        load_logits(path)


NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["1e3", "-0.0", ".5", "5.", " 2", "nan", "-inf", "Infinity"]),
)
JUNK = st.sampled_from(["x", "", "NA", "1_0", "true", "a b", '"q"', "1.5.2", "٣"])
HEADER = st.sampled_from(["a", "b", "label", "text", "name", "0", "1", "", "id", "x y"])


@st.composite
def tables(draw):
    width = draw(st.integers(1, 4))
    rows = draw(st.integers(1, 5))
    header = draw(st.lists(HEADER, min_size=width, max_size=width, unique=True))
    kinds = draw(
        st.lists(st.sampled_from(["number", "text", "mixed"]), min_size=width, max_size=width)
    )
    lines = [",".join(header)] if draw(st.booleans()) else []
    for _ in range(rows):
        cells = []
        for kind in kinds:
            if kind == "number":
                cells.append(draw(NUMBER))
            elif kind == "text":
                cells.append(draw(JUNK))
            else:
                cells.append(draw(st.one_of(NUMBER, JUNK)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=tables())
def test_random_tables_load_the_same_way_on_every_path(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.csv"
        path.write_text(text, encoding="utf-8")
        careful = load_with(path, "careful")
        same(load_with(path, "default"), careful)
        same(load_with(path, "loadtxt"), careful)


@pytest.mark.parametrize("keep", [[0, 2], [1], [0, 1, 2], [2, 0]])
def test_drop_columns_in_place_matches_fancy_indexing(keep):
    values = np.arange(3000 * 3, dtype=np.float64).reshape(3000, 3)
    expected = values[:, keep].copy()
    result = drop_columns(values.copy(), keep)
    np.testing.assert_array_equal(result, expected)
    assert result.flags.c_contiguous


def test_large_table_with_a_label_column(tmp_path):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3000, 7))
    labels = rng.integers(0, 7, 3000)
    rows = "\n".join(
        ",".join(map(repr, row)) + f",{y}" for row, y in zip(logits.tolist(), labels, strict=True)
    )
    path = write(tmp_path / "big.csv", "a,b,c,d,e,f,g,label\n" + rows + "\n")
    data = load_logits(path)
    np.testing.assert_array_equal(data.logits, logits)
    np.testing.assert_array_equal(data.targets, labels)

"""The files pandas writes: ``to_csv`` (with and without its index, after a filter, with a named
or an offset index, class-name labels, metadata columns) and ``to_parquet``.

The oracle is the DataFrame itself: the loaded logits are its class columns, the labels its
label column, and the loss and accuracy are scikit-learn's ``log_loss`` / ``accuracy_score``.
Before, a filtered DataFrame's index became an 11th class (599 digits: loss 1,370, accuracy 9.9 %).
"""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402

from softmax_lab.core.evaluating import evaluate  # noqa: E402
from softmax_lab.core.loaders import DataError, load_logits  # noqa: E402

DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@cache
def digits_frame():
    """Every digit's log-probabilities (a model trained on the first 1,198), its label and split,
    as a user's evaluation script keeps them."""
    x, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(max_iter=3000).fit(x[:1198], y[:1198])
    log_p = model.predict_log_proba(x)
    df = pd.DataFrame(log_p, columns=[str(c) for c in range(10)])
    df["label"] = y
    df["split"] = np.where(np.arange(len(y)) < 1198, "train", "test")
    return df


def expected(df):
    log_p = df[[str(c) for c in range(10)]].to_numpy()
    y = df["label"].to_numpy()
    return log_loss(y, np.exp(log_p), labels=range(10)), accuracy_score(y, log_p.argmax(1))


def numbers(data):
    ev = evaluate(np.asarray(data.logits), np.asarray(data.targets))
    return float(ev.loss), float(ev.accuracy)


def test_the_model_behind_the_files_is_sane():
    df = digits_frame()
    test = df[df.split == "test"]
    assert len(test) == 599
    loss, accuracy = expected(test)
    # A sane model: the numbers the other tests compare mean something.
    assert loss < 1
    assert accuracy > 0.85


WRITERS = {
    # df[df.split == "test"].to_csv(...): the index 1198..1796 under an empty header.
    "after-a-filter": lambda t, p: t.to_csv(p),
    # Every other row: an index that is not even a range.
    "every-other-row": lambda t, p: t.iloc[::2].to_csv(p),
    "named-index-id": lambda t, p: t.rename_axis("id").to_csv(p),
    "offset-index": lambda t, p: t.set_axis(range(1000, 1000 + len(t))).to_csv(p),
    "reset-index": lambda t, p: t.reset_index(drop=True).to_csv(p),
    "no-index": lambda t, p: t.to_csv(p, index=False),
    # read back and saved again: pandas names the old index "Unnamed: 0" and adds a new one.
    "saved-twice": lambda t, p: (t.to_csv(p), pd.read_csv(p).to_csv(p)),
    "id-column": lambda t, p: t.assign(sample_id=np.arange(len(t)) * 7 + 3).to_csv(p, index=False),
    "tsv": lambda t, p: t.to_csv(p.with_suffix(".tsv"), sep="\t"),
}


@pytest.mark.parametrize("how", list(WRITERS))
def test_to_csv_index_columns_are_never_classes(tmp_path, how):
    test = digits_frame()[digits_frame().split == "test"]
    path = tmp_path / "test.csv"
    WRITERS[how](test, path)
    if how == "tsv":
        path = path.with_suffix(".tsv")
    data = load_logits(path)
    shown = test.iloc[::2] if how == "every-other-row" else test
    assert data.class_names == [str(c) for c in range(10)]
    np.testing.assert_array_equal(data.logits, shown[[str(c) for c in range(10)]].to_numpy())
    np.testing.assert_array_equal(data.targets, shown["label"].to_numpy())
    loss, accuracy = numbers(data)
    want_loss, want_accuracy = expected(shown)
    assert loss == pytest.approx(want_loss, rel=1e-6)
    assert accuracy == pytest.approx(want_accuracy, abs=1e-12)
    assert data.metadata["split"].tolist() == ["test"] * len(shown)
    # The notice says which columns became what.
    said = " ".join(data.notices)
    assert "10 class columns" in said
    assert "labels from 'label'" in said
    if how == "saved-twice":
        np.testing.assert_array_equal(data.metadata["Unnamed: 0"], shown.index.to_numpy())
    if how == "offset-index":
        np.testing.assert_array_equal(data.metadata["index"], np.arange(1000, 1000 + len(shown)))
    if how in ("after-a-filter", "every-other-row", "tsv"):
        np.testing.assert_array_equal(data.metadata["index"], shown.index.to_numpy())
        assert "kept as metadata 'index', not a class" in said
    if how == "named-index-id":
        np.testing.assert_array_equal(data.metadata["id"], shown.index.to_numpy())
        assert "metadata from 'id'" in said
    if how == "id-column":
        assert data.metadata["sample_id"].tolist() == (np.arange(len(shown)) * 7 + 3).tolist()


def test_class_name_labels_and_metadata_columns(tmp_path):
    df = digits_frame()
    named = df.set_axis([*DIGIT_NAMES, "label", "split"], axis=1)
    named["label"] = [DIGIT_NAMES[i] for i in df["label"]]
    named["correct"] = df[[str(c) for c in range(10)]].to_numpy().argmax(1) == df["label"]
    named["source"] = "scan"
    test = named[named.split == "test"]
    test.to_csv(tmp_path / "names.csv")
    data = load_logits(tmp_path / "names.csv")
    assert data.class_names == DIGIT_NAMES
    np.testing.assert_array_equal(data.targets, df[df.split == "test"]["label"].to_numpy())
    assert numbers(data) == pytest.approx(expected(df[df.split == "test"]), rel=1e-6)
    assert data.metadata["correct"].dtype == bool
    assert set(data.metadata) == {"index", "split", "correct", "source"}
    assert "labels from 'label' (class names)" in " ".join(data.notices)


def test_class_name_labels_without_class_names_become_the_sorted_classes(tmp_path):
    # sklearn trained on string labels orders its classes_ (and the logits' columns) sorted.
    x, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(max_iter=1000).fit(x, names)
    df = pd.DataFrame(model.predict_log_proba(x))  # columns 0, 1, 2: pandas' default names
    df["target"] = names
    df.to_csv(tmp_path / "iris.csv", index=False)
    data = load_logits(tmp_path / "iris.csv")
    assert data.class_names == list(model.classes_)
    np.testing.assert_array_equal(data.targets, y)
    loss, accuracy = numbers(data)
    assert loss == pytest.approx(log_loss(names, model.predict_proba(x)), rel=1e-6)
    assert accuracy == pytest.approx(accuracy_score(names, model.predict(x)))
    assert any("sorted, became the classes" in n for n in data.notices)


def test_npz_and_pt_labels_written_as_names(tmp_path):
    import torch

    log_p = np.log(np.full((4, 3), 1 / 3))
    names = np.array(["cat", "dog", "eel"])
    np.savez(tmp_path / "a.npz", logits=log_p, labels=names[[2, 0, 1, 2]], class_names=names)
    data = load_logits(tmp_path / "a.npz")
    assert data.targets.tolist() == [2, 0, 1, 2]
    torch.save(
        {"logits": torch.tensor(log_p), "labels": ["eel", "cat", "", "dog"]}, tmp_path / "b.pt"
    )
    data = load_logits(tmp_path / "b.pt")
    assert data.class_names == ["cat", "dog", "eel"]
    assert data.targets.tolist() == [2, 0, -100, 1]
    assert any("1 samples without a label are ignored" in n for n in data.notices)


@pytest.mark.parametrize(
    ("labels", "class_names", "message"),
    [
        (["cat", "cow", "dog", "eel"], ["cat", "dog", "eel"], "'cow' are not class names"),
        (["cat", "dog", "dog", "cat"], None, "2 distinct class names"),
        (["a", "b", "c", "d"], None, "4 distinct class names"),
    ],
    ids=["unknown-name", "too-few-names", "too-many-names"],
)
def test_name_labels_that_cannot_be_matched_are_refused(tmp_path, labels, class_names, message):
    arrays = {"logits": np.zeros((4, 3)), "labels": np.array(labels)}
    if class_names is not None:
        arrays["class_names"] = np.array(class_names)
    np.savez(tmp_path / "x.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_logits(tmp_path / "x.npz")


def test_a_csv_label_column_of_names_with_one_number_is_still_names(tmp_path):
    (tmp_path / "x.csv").write_text("a,b,label\n1,2,a\n3,4,b\n5,6,b\n")
    data = load_logits(tmp_path / "x.csv")
    assert data.targets.tolist() == [0, 1, 1]
    (tmp_path / "y.csv").write_text("a,b,label\n1,2,1\n3,4,b\n5,6,0\n")
    with pytest.raises(DataError, match="row 3, column 3: 'b' is not a number"):
        load_logits(tmp_path / "y.csv")


# --- Parquet ------------------------------------------------------------------------------------

pytest.importorskip("pyarrow")

PARQUET = {
    "plain": lambda df, p: df.to_parquet(p),
    "after-a-filter": lambda df, p: df[df.split == "test"].to_parquet(p),
    "every-other-row": lambda df, p: df[df.split == "test"].iloc[::2].to_parquet(p),
    "named-index-id": lambda df, p: df[df.split == "test"].rename_axis("id").to_parquet(p),
    "index-fold": lambda df, p: (
        df[df.split == "test"].set_axis(pd.Index(np.arange(599) % 5, name="fold")).to_parquet(p)
    ),
    "no-index": lambda df, p: df[df.split == "test"].to_parquet(p, index=False),
    "categorical-names": lambda df, p: (
        df[df.split == "test"]
        .set_axis([*DIGIT_NAMES, "label", "split"], axis=1)
        .assign(label=lambda d: pd.Categorical([DIGIT_NAMES[i] for i in d["label"]]))
        .to_parquet(p)
    ),
    "list-column": lambda df, p: pd.DataFrame(
        {
            "logits": list(df[df.split == "test"][[str(c) for c in range(10)]].to_numpy()),
            "label": df[df.split == "test"]["label"].to_numpy(),
        }
    ).to_parquet(p),
}


@pytest.mark.parametrize("how", list(PARQUET))
def test_to_parquet(tmp_path, how):
    df = digits_frame()
    path = tmp_path / "out.parquet"
    PARQUET[how](df, path)
    data = load_logits(path)
    shown = df if how == "plain" else df[df.split == "test"]
    if how == "every-other-row":
        shown = shown.iloc[::2]
    np.testing.assert_array_equal(data.logits, shown[[str(c) for c in range(10)]].to_numpy())
    np.testing.assert_array_equal(data.targets, shown["label"].to_numpy())
    assert numbers(data) == pytest.approx(expected(shown), rel=1e-6)
    if how in ("after-a-filter", "every-other-row"):
        np.testing.assert_array_equal(data.metadata["index"], shown.index.to_numpy())
    if how == "named-index-id":
        np.testing.assert_array_equal(data.metadata["id"], shown.index.to_numpy())
    if how == "index-fold":  # a named index is metadata even when it repeats
        assert data.metadata["fold"].tolist() == (np.arange(599) % 5).tolist()
    if how == "categorical-names":
        assert data.class_names == DIGIT_NAMES


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"PAR1 not really"), "not a valid Parquet file"),
        (lambda p: p.write_bytes(b""), "empty"),
        (
            lambda p: (pd.DataFrame({"a": [1.0], "b": [2.0]}).to_parquet(p), _truncate(p)),
            "Parquet",
        ),
        (lambda p: pd.DataFrame({"a": [], "b": []}).to_parquet(p), "no rows"),
        (
            lambda p: pd.DataFrame({"logits": [[1.0, 2.0], [1.0]], "label": [0, 1]}).to_parquet(p),
            "lists of numbers of different lengths",
        ),
        (lambda p: pd.DataFrame({"label": [0, 1]}).to_parquet(p), "no class columns"),
        (
            lambda p: pd.DataFrame({"a": [1.0, 2.0], "label": [0, 1], "y": [1, 0]}).to_parquet(p),
            "more than one label column",
        ),
        (lambda p: pd.DataFrame({"a": [1.0, 2.0], "label": [0, 5]}).to_parquet(p), "0..1"),
    ],
    ids=[
        "garbage",
        "empty",
        "truncated",
        "no-rows",
        "ragged-lists",
        "only-labels",
        "two-labels",
        "label-out-of-range",
    ],
)
def test_hostile_parquet_files_are_refused_with_a_reason(tmp_path, make, message):
    path = tmp_path / "bad.parquet"
    make(path)
    with pytest.raises(DataError, match=message) as info:
        load_logits(path)
    assert str(info.value).startswith("bad.parquet: ")


def _truncate(path):
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def test_a_range_index_of_another_length_in_the_metadata_is_not_read(tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 1.0]}).iloc[::1])
    meta = json.loads(table.schema.metadata[b"pandas"])
    meta["index_columns"] = [{"kind": "range", "name": "id", "start": 0, "stop": 2**60, "step": 1}]
    table = table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()})
    pq.write_table(table, tmp_path / "x.parquet")
    data = load_logits(tmp_path / "x.parquet")
    assert data.logits.shape == (2, 2)
    assert "id" not in data.metadata


def test_a_parquet_file_larger_than_free_memory_is_refused_with_a_way_out(tmp_path, monkeypatch):
    import softmax_lab.core.loaders as module

    pd.DataFrame({"logits": list(np.zeros((50, 1000))), "label": np.zeros(50, int)}).to_parquet(
        tmp_path / "wide.parquet"
    )
    monkeypatch.setattr(module, "available_memory", lambda: 500_000)  # the table needs ~0.8 MB
    with pytest.raises(DataError, match=r"wide\.parquet: reading this table of 50 rows"):
        load_logits(tmp_path / "wide.parquet")
    monkeypatch.setattr(module, "available_memory", lambda: 10**9)
    assert load_logits(tmp_path / "wide.parquet").logits.shape == (50, 1000)

"""Binary archives without needless copies: mapped .npz members, memory-mapped .pt files."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch
from loader_files import npz_bytes, pt_bytes, write

import softmax_lab.core.loaders.torch_files as torch_files
from softmax_lab.core.loaders import DataError, load_logits

RNG = np.random.default_rng(3)


def test_uncompressed_npz_logits_are_a_map_of_the_file(tmp_path):
    logits = RNG.normal(size=(40, 7)).astype(np.float32)
    path = write(tmp_path / "run.npz", npz_bytes(logits=logits, labels=np.arange(40) % 7))
    data = load_logits(path)
    assert isinstance(data.logits, np.memmap)
    assert not data.logits.flags.writeable
    np.testing.assert_array_equal(data.logits, logits)
    # What the window does to edit a map copy-on-write: the same bytes from the offset.
    reopened = np.memmap(
        data.logits.filename, dtype=np.float32, mode="c", offset=data.logits.offset, shape=(40, 7)
    )
    np.testing.assert_array_equal(reopened, logits)


@pytest.mark.parametrize(
    ("compressed", "mmap", "dtype"),
    [(True, True, np.float32), (False, False, np.float32), (False, True, np.float16)],
    ids=["compressed", "mmap-off", "converted"],
)
def test_other_npz_members_are_ordinary_arrays(tmp_path, compressed, mmap, dtype):
    logits = RNG.normal(size=(5, 3)).astype(dtype)
    path = write(tmp_path / "run.npz", npz_bytes(compressed, logits=logits))
    data = load_logits(path, mmap=mmap)
    assert type(data.logits) is np.ndarray
    np.testing.assert_array_equal(data.logits, logits.astype(np.float32))


def test_misaligned_member_is_read_not_mapped(tmp_path):
    # "logits.npy" puts float64 data 4 bytes off an 8-byte boundary in np.savez's layout.
    logits = RNG.normal(size=(6, 4))
    path = write(tmp_path / "run.npz", npz_bytes(logits=logits))
    data = load_logits(path)
    np.testing.assert_array_equal(data.logits, logits)
    assert data.logits.flags.aligned


@pytest.mark.parametrize("order", ["fortran", "big-endian"])
def test_fortran_and_big_endian_members(tmp_path, order):
    logits = RNG.normal(size=(6, 4)).astype(np.float32)
    stored = np.asfortranarray(logits) if order == "fortran" else logits.astype(">f4")
    data = load_logits(write(tmp_path / "run.npz", npz_bytes(logits=stored)))
    assert data.logits.flags.c_contiguous
    assert data.logits.dtype == np.float32
    np.testing.assert_array_equal(data.logits, logits)


def test_a_mapped_member_with_a_bad_crc_is_refused(tmp_path):
    logits = np.ones((64, 16), np.float32)
    data = bytearray(npz_bytes(logits=logits))
    data[1000:1004] = b"\x07\x07\x07\x07"  # inside the float32 data (mapped path)
    path = write(tmp_path / "crc.npz", bytes(data))
    with pytest.raises(DataError, match=r"crc\.npz: array 'logits' is damaged \(its CRC-32"):
        load_logits(path)


def test_members_that_play_no_part_are_never_read(tmp_path):
    path = tmp_path / "lazy.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("logits.npy", "w") as fh:
            np.lib.format.write_array(fh, np.ones((3, 2), np.float32))
        with archive.open("embeddings.npy", "w") as fh:
            np.lib.format.write_array(fh, np.ones((3, 4000)))
    raw = bytearray(path.read_bytes())
    start = raw.index(b"embeddings.npy") + 50_000  # past the first block: only its header is read
    raw[start : start + 16] = b"\x00" * 16
    path.write_bytes(bytes(raw))
    data = load_logits(path)
    assert data.notices == ["ignored entries: 'embeddings'"]


def test_truncated_mapped_member(tmp_path):
    raw = npz_bytes(logits=np.ones((64, 16), np.float32))
    path = write(tmp_path / "cut.npz", raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"cut\.npz: .*(truncated|damaged)"):
        load_logits(path)


def test_encrypted_flag_and_unknown_compression_are_refused(tmp_path):
    raw = bytearray(npz_bytes(True, logits=np.ones((4, 2), np.float32)))
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 10 : central + 12] = (99).to_bytes(2, "little")  # compression method 99
    local = raw.index(b"PK\x03\x04")
    raw[local + 8 : local + 10] = (99).to_bytes(2, "little")
    path = write(tmp_path / "odd.npz", bytes(raw))
    with pytest.raises(DataError, match=r"odd\.npz: array 'logits' is stored in a way"):
        load_logits(path)


def test_zip_bomb_member_is_refused_by_its_declared_size(tmp_path, monkeypatch):
    import softmax_lab.core.loaders as package

    path = write(tmp_path / "big.npz", npz_bytes(True, logits=np.zeros((1000, 100), np.float32)))
    monkeypatch.setattr(package, "available_memory", lambda: 100_000)
    with pytest.raises(DataError, match=r"big\.npz: reading its 0\.0 GB array 'logits' needs"):
        load_logits(path)


# ---- .pt ---------------------------------------------------------------------------------------


def test_zip_format_pt_is_loaded_memory_mapped(tmp_path, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    logits = torch.randn(20, 5)
    data = load_logits(write(tmp_path / "t.pt", pt_bytes({"logits": logits})))
    np.testing.assert_array_equal(data.logits, logits.numpy())
    assert calls == [{"map_location": "cpu", "weights_only": True, "mmap": True}]
    assert not data.logits.flags.writeable


def test_legacy_pt_format_loads_without_mmap(tmp_path):
    logits = torch.randn(4, 3)
    raw = pt_bytes({"logits": logits}, _use_new_zipfile_serialization=False)
    data = load_logits(write(tmp_path / "old.pt", raw))
    np.testing.assert_array_equal(data.logits, logits.numpy())


def test_legacy_pt_too_large_for_memory(tmp_path, monkeypatch):
    import softmax_lab.core.loaders as package

    raw = pt_bytes({"logits": torch.zeros(100, 100)}, _use_new_zipfile_serialization=False)
    path = write(tmp_path / "old.pt", raw)
    monkeypatch.setattr(package, "available_memory", lambda: 10)
    with pytest.raises(DataError, match=r"old\.pt: reading this .* Save the logits as \.npy"):
        load_logits(path)


def test_pt_without_torch_installed(tmp_path, monkeypatch):
    import sys

    path = write(tmp_path / "t.pt", pt_bytes(torch.zeros(2, 2)))
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(DataError, match=r"t\.pt: PyTorch is not installed"):
        torch_files.load_torch(path, "t.pt")

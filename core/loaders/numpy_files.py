"""NumPy files: .npy (memory-mapped) and .npz archives (uncompressed members memory-mapped).

Dispatches on the content, not the extension (np.save/np.savez users mix the two up). Arrays
are read with ``allow_pickle=False``: object arrays are refused before any data is read.

An .npz archive is a zip of .npy files. ``np.load`` would read every member it is asked for
into memory; here the archive is opened with ``zipfile`` and each member's .npy header is read
first, so entries that play no part are never read, and the big ones (logits, images) of an
uncompressed archive (``np.savez``) are memory-mapped in place after their CRC-32 is checked in
chunks, which costs no memory. Compressed members (``np.savez_compressed``) are inflated straight
into their final array.
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from softmax_lab.core.loaders._build import Found, build
from softmax_lab.core.loaders._common import (
    NEVER_UNPICKLES,
    NPY_MAGIC,
    PICKLE_PROTOCOL_MARK,
    ZIP_MAGICS,
    DataError,
    LoadedLogits,
    check_memory,
    open_regular,
    read_head,
    short,
)
from softmax_lab.core.loaders.members import BIG_ROLES, gather

Header = tuple[tuple[int, ...], bool, np.dtype[Any], int]
"""(shape, fortran_order, dtype, header length in bytes) of a .npy file or member."""

_CRC_CHUNK = 1 << 22
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra length


def load_numpy_file(path: Path, name: str, source: str, ext: str, mmap: bool) -> LoadedLogits:
    head = read_head(path, len(NPY_MAGIC), name)
    if head.startswith(NPY_MAGIC):
        return _load_npy(path, name, source, mmap)
    if head.startswith(ZIP_MAGICS):
        return _load_npz(path, name, source, mmap)
    if head.startswith(PICKLE_PROTOCOL_MARK):
        raise DataError(
            f"{name}: contains pickled Python objects, not a NumPy array; "
            "Softmax Lab never unpickles files because that could run code"
        )
    raise DataError(f"{name}: not a NumPy {ext} file (it lacks the NumPy file signature)")


def read_npy_array(path: Path, name: str, mmap: bool) -> np.ndarray:
    """A .npy file's array after its header is checked; memory-mapped when ``mmap`` allows."""
    with open_regular(path, name, "rb") as fh:
        shape, _fortran, dtype, data_offset = read_npy_header(fh, name, ".npy header")
    if dtype.hasobject:
        raise DataError(f"{name}: holds Python objects (pickled data), {NEVER_UNPICKLES}")
    needed = data_offset + math.prod(shape) * dtype.itemsize
    size = path.stat().st_size
    if size < needed:
        raise DataError(
            f"{name}: the file is truncated: it has {size} bytes but its {shape} array "
            f"needs {needed}"
        )
    if not mmap:
        check_memory(name, 1.1 * (needed - data_offset), f"this {size / 1e9:.1f} GB file")
    # np.memmap refuses zero-length maps; such arrays are rejected later anyway.
    mmap_mode: Literal["r"] | None = "r" if mmap and math.prod(shape) > 0 else None
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{name}: the .npy file is damaged ({short(exc)})") from exc


def _load_npy(path: Path, name: str, source: str, mmap: bool) -> LoadedLogits:
    array = read_npy_array(path, name, mmap)
    return build(name, source, Found(logits=array, path=path), [])


def read_npy_header(fh: IO[bytes], name: str, what: str) -> Header:
    """Read shape and dtype without touching the data, so bad files fail fast and clearly."""
    fmt = np.lib.format
    try:
        start = fh.tell()
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            # Version 3 only exists for structured dtypes with non-Latin-1 field names,
            # which can never be logits.
            raise DataError(f"{name}: unsupported .npy format version {version}")
        return tuple(shape), bool(fortran), np.dtype(dtype), fh.tell() - start
    except DataError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise DataError(f"{name}: the {what} is damaged ({short(exc)})") from exc


# ---- .npz --------------------------------------------------------------------------------------


class NpzArchive:
    """The members of an .npz archive, by key (the member name without '.npy')."""

    def __init__(self, path: Path, fh: IO[bytes], name: str, mmap: bool) -> None:
        self.path, self.fh, self.name, self.mmap = path, fh, name, mmap
        try:
            self.zip = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as exc:
            raise DataError(
                f"{name}: not a valid .npz archive; it may be truncated or damaged ({short(exc)})"
            ) from exc
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            key = info.filename.removesuffix(".npy")
            self.members.setdefault(key, info)
        self._headers: dict[str, Header | None] = {}

    def keys(self) -> list[str]:
        return list(self.members)

    def header(self, key: str) -> Header | None:
        """The member's .npy header, or None for a member that is not a .npy file."""
        if key not in self._headers:
            info = self.members[key]
            header = None
            if info.filename.endswith(".npy"):
                with self._open(key) as member:
                    header = read_npy_header(member, self.name, f"array '{key}'")
            self._headers[key] = header
        return self._headers[key]

    def shape(self, key: str) -> tuple[int, ...] | None:
        header = self.header(key)
        return None if header is None else header[0]

    def kind(self, key: str) -> str | None:
        header = self.header(key)
        return None if header is None else header[2].kind

    def read(self, key: str, role: str) -> np.ndarray:
        header = self.header(key)
        if header is None:
            raise DataError(
                f"{self.name}: '{key}' is not a NumPy array; the entries of an .npz archive "
                "must be arrays of numbers or text"
            )
        shape, _fortran, dtype, header_size = header
        if dtype.hasobject:
            raise DataError(
                f"{self.name}: array '{key}' holds Python objects (pickled data), {NEVER_UNPICKLES}"
            )
        info = self.members[key]
        nbytes = math.prod(shape) * dtype.itemsize
        if info.file_size < header_size + nbytes:
            raise DataError(f"{self.name}: array '{key}' is truncated or damaged")
        if role in BIG_ROLES and self.mmap and nbytes > 0:
            mapped = self._mapped(key, info, header)
            if mapped is not None:
                return mapped
        check_memory(self.name, 1.1 * nbytes, f"its {nbytes / 1e9:.1f} GB array '{key}'")
        with self._open(key) as member:
            try:
                return np.lib.format.read_array(member, allow_pickle=False)
            except ValueError as exc:
                if "pickle" in str(exc) or "Object arrays" in str(exc):
                    raise DataError(
                        f"{self.name}: array '{key}' holds Python objects (pickled data), "
                        f"{NEVER_UNPICKLES}"
                    ) from exc
                raise DataError(f"{self.name}: array '{key}' is damaged ({short(exc)})") from exc
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise DataError(
                    f"{self.name}: array '{key}' is truncated or damaged ({short(exc)})"
                ) from exc

    def _open(self, key: str) -> IO[bytes]:
        try:
            return self.zip.open(self.members[key])
        except NotImplementedError as exc:  # zipfile: exotic compression methods
            raise DataError(
                f"{self.name}: array '{key}' is stored in a way NumPy cannot read ({short(exc)})"
            ) from exc
        except RuntimeError as exc:  # "File ... is encrypted, password required"
            raise DataError(f"{self.name}: array '{key}' is encrypted") from exc
        except (zipfile.BadZipFile, OSError, EOFError, struct.error) as exc:
            raise DataError(
                f"{self.name}: array '{key}' is truncated or damaged ({short(exc)})"
            ) from exc

    def _mapped(self, key: str, info: zipfile.ZipInfo, header: Header) -> np.ndarray | None:
        """The member's array mapped from the file, or None when it cannot be mapped.

        Only stored (uncompressed, unencrypted) members qualify, and only when the data starts at
        a multiple of the dtype's alignment: misaligned floats would be slow in every pass.
        """
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            return None
        shape, fortran, dtype, header_size = header
        self.fh.seek(info.header_offset)
        local = self.fh.read(_LOCAL_HEADER.size)
        if len(local) < _LOCAL_HEADER.size:
            raise DataError(f"{self.name}: array '{key}' is truncated or damaged")
        signature, name_size, extra_size = _LOCAL_HEADER.unpack(local)
        if signature != b"PK\x03\x04":
            raise DataError(f"{self.name}: array '{key}' is damaged (bad zip entry header)")
        start = info.header_offset + _LOCAL_HEADER.size + name_size + extra_size
        if start + info.file_size > self.path.stat().st_size:
            raise DataError(f"{self.name}: array '{key}' is truncated")
        offset = start + header_size
        if offset % dtype.alignment:
            return None
        self._check_crc(key, start, info.file_size, info.CRC)
        return np.memmap(
            self.path,
            dtype=dtype,
            mode="r",
            offset=offset,
            shape=shape,
            order="F" if fortran else "C",
        )

    def _check_crc(self, key: str, start: int, size: int, expected: int) -> None:
        # Read, not mapped: reading through a small buffer keeps the pages out of our memory.
        buffer = bytearray(min(_CRC_CHUNK, size))
        view = memoryview(buffer)
        crc = 0
        self.fh.seek(start)
        left = size
        while left:
            got = self.fh.readinto(view[: min(left, len(buffer))])  # type: ignore[attr-defined]
            if not got:
                raise DataError(f"{self.name}: array '{key}' is truncated")
            crc = zlib.crc32(view[:got], crc)
            left -= got
        if crc != expected:
            raise DataError(
                f"{self.name}: array '{key}' is damaged (its CRC-32 checksum does not match)"
            )


def _load_npz(path: Path, name: str, source: str, mmap: bool) -> LoadedLogits:
    # We open the file ourselves: np.load leaks its handle when a damaged archive fails to open.
    with open_regular(path, name, "rb") as fh:
        archive = NpzArchive(path, fh, name, mmap)
        with archive.zip:
            if not archive.keys():
                raise DataError(f"{name}: the archive contains no arrays")
            notices: list[str] = []
            found = gather(archive, name, notices, path, nested=False)
    return build(name, source, found, notices)

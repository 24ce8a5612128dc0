"""Builders of test files shared by the tests of ``core.loaders`` (bytes, written in tmp_path)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch


def write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def npz_bytes(compressed: bool = False, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def pt_bytes(obj: object, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def softmax(z: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(np.array(z, dtype=np.float64)), dim=-1).numpy()

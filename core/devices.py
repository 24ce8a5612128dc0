"""Which torch devices and dtypes Softmax Lab can compute on, and how a request is resolved."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from softmax_lab.core.constants import DTYPE_NAMES

DTYPES: dict[str, torch.dtype] = {name: getattr(torch, name) for name in DTYPE_NAMES}


def available_devices() -> list[str]:
    """``cpu`` first, then every ``cuda:N`` and ``mps`` that torch can use right now."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


@dataclass(frozen=True)
class ResolvedDevice:
    """The device actually used, and why it differs from the one asked for (``None`` if not)."""

    device: torch.device
    fallback: str | None = None


def resolve_device(name: str | torch.device) -> ResolvedDevice:
    """Turn a device name into a usable device.

    A malformed name (``"tpu"``, ``"cuda:x"``) is a programming or typing error and raises
    ``ValueError``. A well-formed device this machine lacks (``cuda`` without a GPU, ``cuda:3`` on a
    one-GPU box, ``mps`` off Apple silicon) falls back to the CPU, and the reason is recorded so
    the window can show it: a file of logits opened on a laptop must still open.
    """
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {name!r}: use one of {available_devices()}") from exc
    if device.type == "cpu":
        return ResolvedDevice(torch.device("cpu"))
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return ResolvedDevice(torch.device("cpu"), f"{name}: CUDA is not available; used cpu")
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            return ResolvedDevice(
                torch.device("cpu"),
                f"{name}: only {torch.cuda.device_count()} CUDA device(s); used cpu",
            )
        return ResolvedDevice(torch.device("cuda", index))
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            return ResolvedDevice(torch.device("cpu"), f"{name}: MPS is not available; used cpu")
        return ResolvedDevice(device)
    raise ValueError(f"unsupported device {name!r}: use one of {available_devices()}")


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Map ``"float32"`` (or a torch floating dtype) to the torch dtype; anything else raises."""
    if isinstance(dtype, torch.dtype):
        if dtype in DTYPES.values():
            return dtype
    elif isinstance(dtype, str) and dtype.removeprefix("torch.") in DTYPES:
        return DTYPES[dtype.removeprefix("torch.")]
    raise ValueError(f"unsupported dtype {dtype!r}: use one of {list(DTYPES)}")


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")

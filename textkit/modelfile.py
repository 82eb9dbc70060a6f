"""The safe on-disk format shared by textkit's models: ``model.json`` + ``arrays.npz``.

The JSON names every array with its dtype and shape and the SHA-256 of the archive; arrays are
plain numeric numpy arrays loaded with ``allow_pickle=False``. Loading therefore never executes
code from the folder, and a tampered or half-written folder is refused instead of half-loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

import textkit

MODEL_JSON = "model.json"
ARRAYS_NPZ = "arrays.npz"


class ModelFormatError(ValueError):
    """A model folder that is not a valid, untampered model of the expected kind."""


def save_folder(
    directory: str | os.PathLike[str],
    *,
    fmt: str,
    version: int,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
) -> Path:
    """Write ``arrays`` and ``meta`` (plus format, version and checksum) into ``directory``."""
    from textkit.tabular import atomic_open

    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=False, **arrays)  # type: ignore[arg-type]
    blob = buf.getvalue()
    document = {
        "format": fmt,
        "format_version": version,
        "textkit_version": textkit.__version__,
        **meta,
        "arrays": {
            name: {"dtype": str(a.dtype), "shape": list(a.shape)} for name, a in arrays.items()
        },
        "arrays_sha256": hashlib.sha256(blob).hexdigest(),
    }
    # Arrays first: model.json names their checksum, so a crash between the two writes leaves a
    # folder that refuses to load rather than one that loads the wrong arrays.
    with atomic_open(out / ARRAYS_NPZ, "wb") as fh:
        fh.write(blob)
    with atomic_open(out / MODEL_JSON, "w") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    return out


def load_folder(
    directory: str | os.PathLike[str], *, fmt: str, version: int | tuple[int, ...], kind: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and check a model folder; return its metadata and arrays or raise ModelFormatError.

    ``version`` is the format version this reader understands, or a tuple of them.
    """
    readable = version if isinstance(version, tuple) else (version,)
    d = Path(directory)
    meta_path, npz_path = d / MODEL_JSON, d / ARRAYS_NPZ
    for p in (meta_path, npz_path):
        if not p.is_file():
            raise ModelFormatError(f"{d}: not a {kind} model folder ({p.name} is missing)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{meta_path}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise ModelFormatError(f"{meta_path}: not a {fmt} model")
    if meta.get("format_version") not in readable:
        raise ModelFormatError(
            f"{meta_path}: format version {meta.get('format_version')!r}, "
            f"this textkit reads version {' or '.join(map(str, readable))}"
        )
    blob = npz_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("arrays_sha256"):
        raise ModelFormatError(f"{npz_path}: checksum does not match {MODEL_JSON}; refusing it")
    expected = meta.get("arrays") or {}
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            names = sorted(n.removesuffix(".npy") for n in zf.namelist())
        if names != sorted(expected):
            raise ModelFormatError(f"{npz_path}: unexpected array set {names}")
        arrays: dict[str, np.ndarray] = {}
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            for name, spec in expected.items():
                a = npz[name]
                if (
                    a.dtype.kind not in "fiu"
                    or str(a.dtype) != spec["dtype"]
                    or list(a.shape) != spec["shape"]
                ):
                    raise ModelFormatError(f"{npz_path}: array {name} has the wrong type or shape")
                arrays[name] = a
    except ModelFormatError:
        raise
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        raise ModelFormatError(f"{npz_path}: not a plain numpy archive ({exc})") from exc
    return meta, arrays

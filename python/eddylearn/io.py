"""Files the solver reads and writes: namelist input, diagnostics CSV, checkpoints."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np

#: Namelist groups and keys the solver knows (defaults live in solver/src/param.f90).
NAMELIST_KEYS: dict[str, tuple[str, ...]] = {
    "domain": ("nx", "ny", "nz", "lx", "ly", "lz"),
    "physics": ("nu", "initial", "u0", "k_peak", "seed", "forcing_a"),
    "time": ("t_end", "max_steps", "cfl", "dt", "fft_planner", "allow_unstable"),
    "sgs": ("model", "cs", "clip_backscatter", "model_key", "timeout_ms", "version_every",
            "retry_every", "infer_every", "c_wale", "c_vreman", "c_gradient", "dynamic_average"),
    "output": ("dir", "diag_every", "checkpoint_every", "checkpoint_at_end", "restart_file",
               "verbose"),
    "staging": ("enabled", "snapshot_every", "fields", "sgs_every", "sgs_width", "sgs_samples",
                "queue_mb", "policy", "prefix", "flush_timeout", "synchronous", "handover"),
}

_MAGIC = b"ELCHK001"
_HEADER = 8 + 4 * 8 + 2 * 8


def _fortran_value(value) -> str:
    if isinstance(value, bool):
        return ".true." if value else ".false."
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (str, Path)):
        text = str(value)
        if "'" in text:
            raise ValueError(f"namelist strings cannot contain a single quote: {text!r}")
        return f"'{text}'"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to a namelist")


def write_namelist(path: str | Path, groups: Mapping[str, Mapping[str, object]]) -> Path:
    """Write the solver input file; unknown groups or keys raise ValueError naming them."""
    lines = []
    for group, values in groups.items():
        if group not in NAMELIST_KEYS:
            raise ValueError(f"unknown namelist group &{group} (known: "
                             + ", ".join("&" + g for g in NAMELIST_KEYS) + ")")
        for key in values:
            if key not in NAMELIST_KEYS[group]:
                raise ValueError(f"unknown key {key!r} in &{group} (known: "
                                 + ", ".join(NAMELIST_KEYS[group]) + ")")
        body = ", ".join(f"{k}={_fortran_value(v)}" for k, v in values.items())
        lines.append(f"&{group} {body} /")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def read_diagnostics(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of the solver's diagnostics.csv as float arrays (step as int)."""
    path = Path(path)
    with path.open() as f:
        header = f.readline().strip().split(",")
    if "step" not in header:    # the solver has opened the file but not written its header yet
        raise ValueError(f"{path}: no diagnostics header (a 'step' column) in the file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)      # numpy's "input contained no data"
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    if data.size == 0 or data.shape[1] != len(header):
        raise ValueError(f"{path}: no diagnostics rows under its header yet"
                         if data.size == 0 else
                         f"{path}: {data.shape[1]} columns under a header of {len(header)}")
    cols = {name: data[:, i] for i, name in enumerate(header)}
    cols["step"] = cols["step"].astype(np.int64)
    return cols


@dataclasses.dataclass
class Checkpoint:
    """A solver checkpoint: global fields (nx, ny, nz) in Fortran index order."""
    step: int
    time: float
    dt: float
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    p: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.u.shape


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by the solver (any rank count)."""
    raw = Path(path).read_bytes()
    if len(raw) < _HEADER or raw[:8] != _MAGIC:
        raise ValueError(f"{path} is not an eddylearn checkpoint")
    nx, ny, nz, step = np.frombuffer(raw, dtype="<i8", count=4, offset=8)
    time, dt = np.frombuffer(raw, dtype="<f8", count=2, offset=40)
    n = int(nx) * int(ny) * int(nz)
    if len(raw) != _HEADER + 4 * 8 * n:
        raise ValueError(f"{path} is truncated or corrupt: {len(raw)} bytes for a "
                         f"{nx}x{ny}x{nz} grid")
    fields = [np.frombuffer(raw, dtype="<f8", count=n, offset=_HEADER + 8 * n * i)
              .reshape((nx, ny, nz), order="F") for i in range(4)]
    return Checkpoint(int(step), float(time), float(dt), *fields)


def write_checkpoint(path: str | Path, u: np.ndarray, v: np.ndarray, w: np.ndarray,
                     p: np.ndarray | None = None, step: int = 0, time: float = 0.0,
                     dt: float = 0.0) -> Path:
    """Write a checkpoint in the solver's format (the solver restarts from it on any rank
    count); p = 0 when not given."""
    nx, ny, nz = u.shape
    path = Path(path)
    with path.open("wb") as fh:
        fh.write(_MAGIC)
        fh.write(np.array([nx, ny, nz, step], dtype="<i8").tobytes())
        fh.write(np.array([time, dt], dtype="<f8").tobytes())
        for a in (u, v, w, np.zeros_like(u) if p is None else p):
            fh.write(np.asarray(a, dtype="<f8").tobytes(order="F"))
    return path


def read_reference(path: str | Path) -> dict[str, np.ndarray]:
    """The TGV reference file: time, energy, dissipation (-dE/dt), enstrophy."""
    data = np.loadtxt(path, comments="#")
    return {"time": data[:, 0], "energy": data[:, 1], "dissipation": data[:, 2],
            "enstrophy": data[:, 3]}

"""Storing SGS models where the solver's `learned` model finds them, and TorchScript models
whose output is known.

Layout (docs/consumers.md, "The model in the database"):
- ``<key>.v<version>``: the TorchScript model of each version (the last ``keep`` are kept);
- ``<key>``: the latest version again, for clients that do not track versions;
- ``<key>.meta``: dataset with ``version`` (int64), ``step``, ``delta`` (filter width the model
  was trained for), string ``normalisation`` ("applied inside the model" or "applied by the
  caller", then tensors ``f_mean``, ``f_std`` (9) and ``l_mean``, ``l_std`` (6): the solver sends
  (g - f_mean)/f_std and reads back tau = y*l_std + l_mean), string ``input_dtype`` ("FLOAT"
  when the model computes in single precision, so the solver sends its features as FLOAT, half
  the bytes; "DOUBLE" otherwise).

The solver reads the metadata every ``version_every`` steps and then runs ``<key>.v<version>``,
so a model in use is never replaced under a running step.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from torch import nn

INSIDE = "applied inside the model"
BY_CALLER = "applied by the caller"


class SmagorinskyStress(nn.Module):
    """tau_ij = -2 (cs delta)^2 |S| S_ij from the 9 velocity-gradient features, in float64 and
    with the same arithmetic as the solver's Smagorinsky model, so that a run with this model
    in the database matches a run with ``model = 'smagorinsky'`` to round-off. With
    ``normalisation`` = (f_mean, f_std, l_mean, l_std) it takes normalised features and returns
    normalised stresses (a model for "applied by the caller" metadata)."""

    def __init__(self, cs: float, delta: float, normalisation=None, n_out: int = 6):
        super().__init__()
        self.c2 = float((cs * delta) ** 2)
        self.n_out = int(n_out)
        norm = normalisation or (np.zeros(9), np.ones(9), np.zeros(6), np.ones(6))
        for name, val in zip(("f_mean", "f_std", "l_mean", "l_std"), norm):
            self.register_buffer(name, torch.as_tensor(np.asarray(val, dtype=np.float64)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = x.to(torch.float64) * self.f_std + self.f_mean
        s11, s22, s33 = g[:, 0], g[:, 4], g[:, 8]
        s12 = 0.5 * (g[:, 1] + g[:, 3])
        s13 = 0.5 * (g[:, 2] + g[:, 6])
        s23 = 0.5 * (g[:, 5] + g[:, 7])
        nut = self.c2 * torch.sqrt(2 * (s11 ** 2 + s22 ** 2 + s33 ** 2
                                        + 2 * (s12 ** 2 + s13 ** 2 + s23 ** 2)))
        tau = torch.stack([-2 * nut * s11, -2 * nut * s22, -2 * nut * s33,
                           -2 * nut * s12, -2 * nut * s13, -2 * nut * s23], dim=1)
        tau = (tau - self.l_mean) / self.l_std
        return tau[:, : self.n_out].to(x.dtype)


def scripted(module: nn.Module) -> bytes:
    """TorchScript bytes of a module (what AI.MODELSTORE receives)."""
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buf)
    return buf.getvalue()


def model_input_dtype(blob: bytes) -> str:
    """"FLOAT" for a TorchScript model that says it computes in single precision (an attribute
    ``computes_in`` = "FLOAT", as the trainer's deployed SGS network has), else "DOUBLE" (also
    for bytes torch cannot load: the database judges those when they are stored)."""
    try:
        module = torch.jit.load(io.BytesIO(blob), map_location="cpu")
    except Exception:   # noqa: BLE001 - torch raises RuntimeError and others
        return "DOUBLE"
    return "FLOAT" if getattr(module, "computes_in", None) == "FLOAT" else "DOUBLE"


def publish_model(client, key: str, blob: bytes, version: int, *, step: int = 0,
                  delta: float = 0.0, normalisation=None, keep: int = 5,
                  device: str = "CPU", extra_meta: dict | None = None,
                  input_dtype: str | None = None) -> None:
    """Store TorchScript bytes as version ``version`` of ``key`` with a SmartRedis client:
    ``<key>.v<version>``, ``<key>`` and ``<key>.meta`` (the metadata last, so a reader that sees
    the new version finds its model); delete ``<key>.v<version - keep>``. ``input_dtype``
    ("FLOAT" or "DOUBLE"; default: what the model says, model_input_dtype) is the precision the
    solver sends the features in."""
    from smartredis import Dataset

    if version < 1:
        raise ValueError(f"model versions start at 1, got {version}")
    if input_dtype is None:
        input_dtype = model_input_dtype(blob)
    if input_dtype not in ("FLOAT", "DOUBLE"):
        raise ValueError(f"input_dtype must be 'FLOAT' or 'DOUBLE', got {input_dtype!r}")
    client.set_model(f"{key}.v{version}", blob, "TORCH", device)
    client.set_model(key, blob, "TORCH", device)
    meta = Dataset(f"{key}.meta")
    meta.add_meta_scalar("version", np.int64(version))
    meta.add_meta_scalar("step", np.int64(step))
    meta.add_meta_scalar("delta", np.float64(delta))
    meta.add_meta_string("input_dtype", input_dtype)
    if normalisation is None:
        meta.add_meta_string("normalisation", INSIDE)
    else:
        meta.add_meta_string("normalisation", BY_CALLER)
        for name, val in zip(("f_mean", "f_std", "l_mean", "l_std"), normalisation):
            meta.add_tensor(name, np.ascontiguousarray(val, dtype=np.float64))
    for name, val in (extra_meta or {}).items():
        if isinstance(val, str):
            meta.add_meta_string(name, val)
        else:
            meta.add_tensor(name, np.ascontiguousarray(val, dtype=np.float64))
    client.put_dataset(meta)
    old = version - keep
    if old >= 1 and client.model_exists(f"{key}.v{old}"):
        client.delete_model(f"{key}.v{old}")

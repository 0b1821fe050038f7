"""Snapshot datasets in the solver's data contract, put with the genuine SmartRedis client."""
from __future__ import annotations

import numpy as np


def make_block(snap, rank: int, nranks: int, fields=("u", "v", "w", "p"),
               name_prefix: str = ""):
    """The SmartRedis dataset of one rank's z slab, exactly as the solver sends it."""
    from smartredis import Dataset

    nx, ny, nz = snap.n
    nzl = nz // nranks
    k0 = rank * nzl
    ds = Dataset(f"{name_prefix}snapshot.{snap.step}.{rank}")
    for f in fields:
        ds.add_tensor(f, np.ascontiguousarray(snap.fields[f][:, :, k0:k0 + nzl]))
    ds.add_meta_scalar("step", np.int64(snap.step))
    ds.add_meta_scalar("time", np.float64(snap.time))
    ds.add_meta_scalar("rank", np.int32(rank))
    ds.add_meta_scalar("nranks", np.int32(nranks))
    for v in (nx, ny, nz):
        ds.add_meta_scalar("n", np.int64(v))
    for v in (0, 0, k0):
        ds.add_meta_scalar("offset", np.int64(v))
    for v in snap.dx:
        ds.add_meta_scalar("dx", np.float64(v))
    return ds


def publish(client, snaps, prefix: str = "", nranks: int = 2, fields=("u", "v", "w", "p"),
            order=None) -> list[str]:
    """Put the snapshots as per-rank datasets and append them to P + "snapshots" (rank order
    as given by `order`, a list of (snapshot index, rank)); returns the dataset names."""
    if order is None:
        order = [(i, r) for i in range(len(snaps)) for r in range(nranks)]
    names = []
    for i, rank in order:
        ds = make_block(snaps[i], rank, nranks, fields, prefix)
        client.put_dataset(ds)
        client.append_to_list(prefix + "snapshots", ds)
        names.append(ds.get_name())
    return names

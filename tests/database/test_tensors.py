"""Tensors, datasets and aggregation lists through the genuine SmartRedis 0.6.1 client, and the
raw AI.TENSORSET / AI.TENSORGET forms of docs/protocol.md §3.1, §4.1."""
from __future__ import annotations

import numpy as np
import pytest
from smartredis import Dataset

DTYPES = [np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16]
WIRE = {np.float32: "FLOAT", np.float64: "DOUBLE", np.int8: "INT8", np.int16: "INT16",
        np.int32: "INT32", np.int64: "INT64", np.uint8: "UINT8", np.uint16: "UINT16"}


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4), (2, 3, 4, 5)])
def test_put_get_unpack_every_dtype(client, r, dtype, shape):
    a = sample(dtype, shape)
    client.put_tensor("t", a)
    b = client.get_tensor("t")
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)
    # "unpack" (copy into a caller's buffer) is C++/Fortran only; the Python client's
    # equivalent is np.copyto from get_tensor, which needs the exact dtype and shape.
    out = np.empty_like(a)
    np.copyto(out, b, casting="no")
    assert np.array_equal(a, out)
    meta = r.execute_command("AI.TENSORGET", "t", "META")
    assert meta == [b"dtype", WIRE[dtype].encode(), b"shape", list(shape)]


@pytest.mark.parametrize("nbytes", [4096, 1 << 20, 16 << 20, 64 << 20])
def test_large_tensors_round_trip(client, nbytes):
    a = sample(np.float64, (nbytes // 8 // 64, 64), seed=nbytes)
    client.put_tensor("big", a)
    b = client.get_tensor("big")
    assert b.nbytes == nbytes and np.array_equal(a, b)


def test_values_and_meta_forms(r):
    assert r.execute_command("AI.TENSORSET", "v", "INT16", 2, 2, "VALUES", 1, -2, 3, 32767) == b"OK"
    assert r.execute_command("AI.TENSORGET", "v", "VALUES") == [1, -2, 3, 32767]
    full = r.execute_command("AI.TENSORGET", "v", "META", "VALUES")
    assert full == [b"dtype", b"INT16", b"shape", [2, 2], b"values", [1, -2, 3, 32767]]
    r.execute_command("AI.TENSORSET", "f", "DOUBLE", 3, "VALUES", 0.5, -1.25, 1e300)
    vals = [float(x) for x in r.execute_command("AI.TENSORGET", "f", "VALUES")]
    assert vals == [0.5, -1.25, 1e300]
    blob = r.execute_command("AI.TENSORGET", "f", "BLOB")
    assert np.array_equal(np.frombuffer(blob, np.float64), [0.5, -1.25, 1e300])
    # no option means META BLOB; option order is free
    assert r.execute_command("AI.TENSORGET", "f")[5] == blob
    assert r.execute_command("AI.TENSORGET", "f", "BLOB", "META")[5] == blob


def test_bool_and_zero_filled(r):
    r.execute_command("AI.TENSORSET", "b", "BOOL", 4, "BLOB", bytes([0, 1, 1, 0]))
    assert r.execute_command("AI.TENSORGET", "b", "VALUES") == [0, 1, 1, 0]
    r.execute_command("AI.TENSORSET", "b2", "bool", 2, "VALUES", 1, 0)
    assert r.execute_command("AI.TENSORGET", "b2", "META")[1] == b"BOOL"
    r.execute_command("AI.TENSORSET", "z", "UINT8", 3, 2)
    assert r.execute_command("AI.TENSORGET", "z", "BLOB") == bytes(6)
    assert r.type("z") == b"AI_TENSOR"
    assert r.memory_usage("z") >= 6


def test_overwrite_rename_delete(client, r):
    client.put_tensor("a", np.arange(5, dtype=np.int32))
    client.put_tensor("a", np.arange(3, dtype=np.float32))
    assert client.get_tensor("a").dtype == np.float32
    client.copy_tensor("a", "b")
    client.rename_tensor("b", "c")
    assert not client.tensor_exists("b") and client.tensor_exists("c")
    client.delete_tensor("c")
    assert not client.tensor_exists("c")
    assert np.array_equal(client.get_tensor("a"), np.arange(3, dtype=np.float32))


def test_binary_safe_keys(r):
    key = b"{\x00\x00}.t\x00x"
    r.execute_command("AI.TENSORSET", key, "INT8", 2, "VALUES", 1, 2)
    r.execute_command("AI.TENSORSET", b"{\x00\x00}.t\x00y", "INT8", 2, "VALUES", 3, 4)
    assert r.execute_command("AI.TENSORGET", key, "VALUES") == [1, 2]


def test_dataset_with_metadata_and_lists(client):
    ds = Dataset("snap")
    u = sample(np.float64, (4, 5, 6), 1)
    p = sample(np.float32, (4, 5, 6), 2)
    ds.add_tensor("u", u)
    ds.add_tensor("p", p)
    ds.add_meta_scalar("step", np.int64(12))
    ds.add_meta_scalar("time", 0.125)
    ds.add_meta_scalar("dx", np.float32(0.5))
    ds.add_meta_string("case", "tgv")
    client.put_dataset(ds)
    assert client.dataset_exists("snap")
    got = client.get_dataset("snap")
    assert np.array_equal(got.get_tensor("u"), u) and np.array_equal(got.get_tensor("p"), p)
    assert list(got.get_meta_scalars("step")) == [12]
    assert list(got.get_meta_scalars("time")) == [0.125]
    assert got.get_meta_strings("case") == ["tgv"]
    for i in range(3):
        d = Dataset(f"s{i}")
        d.add_tensor("x", np.full(3, i, dtype=np.int32))
        client.put_dataset(d)
        client.append_to_list("snapshots", d)
    assert client.get_list_length("snapshots") == 3
    items = client.get_dataset_list_range("snapshots", 1, 2)
    assert [int(d.get_tensor("x")[0]) for d in items] == [1, 2]
    client.delete_dataset("snap")
    assert not client.dataset_exists("snap")

"""Fortran/C native client <-> genuine SmartRedis 0.6.1 Python client, value for value, against
one shard and against the 3-shard cluster (the db fixture runs each test on both)."""
from __future__ import annotations

import struct

import numpy as np

from clienttest import run

DTYPES = {"r8": np.float64, "r4": np.float32, "i1": np.int8, "i2": np.int16, "i4": np.int32,
          "i8": np.int64}
SHAPES = {1: (7,), 2: (3, 5), 3: (2, 3, 4), 4: (2, 3, 1, 5)}


def expected(dt, shape):
    """Element with 0-based column-major index k: k mod 120 (integers), k*0.5 + 0.25 (reals)."""
    k = np.arange(int(np.prod(shape)))
    v = k * 0.5 + 0.25 if np.issubdtype(dt, np.floating) else k % 120
    return v.astype(dt).reshape(shape, order="F")


def test_fortran_puts_python_reads(db, programs):
    """Every dtype, ranks 1-4, non-square shapes: same dims, py[i,j,..] == a(i+1,j+1,..)."""
    run(programs["ftest"], "put_all", "ft_", env=db.env())
    c = db.smartredis()
    for t, dt in DTYPES.items():
        for r, shp in SHAPES.items():
            got = c.get_tensor(f"ft_{t}_{r}")
            assert got.dtype == dt and got.shape == shp, (t, r, got.dtype, got.shape)
            np.testing.assert_array_equal(got, expected(dt, shp), err_msg=f"{t}_{r}")


def test_python_puts_fortran_reads(db, programs):
    c = db.smartredis()
    for t, dt in DTYPES.items():
        for r, shp in SHAPES.items():
            c.put_tensor(f"py_{t}_{r}", np.ascontiguousarray(expected(dt, shp)))
    run(programs["ftest"], "get_all", "py_", env=db.env())


def test_fortran_reads_what_it_wrote(db, programs):
    run(programs["ftest"], "put_all", "rt_", env=db.env())
    run(programs["ftest"], "get_all", "rt_", env=db.env())


def test_fortran_dataset_python_reads(db, programs):
    run(programs["ftest"], "put_dataset", "fds", "flist", env=db.env())
    c = db.smartredis()
    assert c.dataset_exists("fds")
    ds = c.get_dataset("fds")
    np.testing.assert_array_equal(ds.get_tensor("u"), expected(np.float64, (4, 3, 2)))
    np.testing.assert_array_equal(ds.get_tensor("p"), expected(np.float32, (3, 5)))
    np.testing.assert_array_equal(ds.get_tensor("idx"), np.arange(6, dtype=np.int32))
    assert ds.get_tensor("u").dtype == np.float64 and ds.get_tensor("p").dtype == np.float32
    step = ds.get_meta_scalars("step")
    assert step.dtype == np.int32 and list(step) == [7]
    assert list(ds.get_meta_scalars("time")) == [0.25, 0.5]
    dx = ds.get_meta_scalars("dx")
    assert dx.dtype == np.float32 and dx[0] == np.float32(0.125)
    assert ds.get_meta_scalars("big").dtype == np.int64 and ds.get_meta_scalars("big")[0] == 123456789012
    assert ds.get_meta_strings("label") == ["alpha", "beta gamma"]
    assert sorted(ds.get_tensor_names()) == ["idx", "p", "u"]
    assert c.get_list_length("flist") == 1
    got = c.get_datasets_from_list("flist")
    assert [d.get_name() for d in got] == ["fds"]
    np.testing.assert_array_equal(got[0].get_tensor("u"), expected(np.float64, (4, 3, 2)))


def test_python_dataset_fortran_reads(db, programs):
    from smartredis import Dataset
    c = db.smartredis()
    ds = Dataset("pyds")
    ds.add_tensor("w", np.ascontiguousarray(expected(np.float64, (2, 3))))
    ds.add_tensor("m", np.arange(4, dtype=np.int16))
    ds.add_meta_scalar("time", np.float64(1.5))
    ds.add_meta_scalar("time", np.float64(2.5))
    ds.add_meta_scalar("step", np.int64(42))
    ds.add_meta_scalar("dx", np.float32(0.5))
    ds.add_meta_scalar("rank", np.int32(3))
    ds.add_meta_string("tags", "first")
    ds.add_meta_string("tags", "second tag")
    c.put_dataset(ds)
    run(programs["ftest"], "get_dataset", "pyds", env=db.env())


def test_exists_poll_delete(db, programs):
    run(programs["ftest"], "exists", env=db.env())


def test_bad_input_returns_errors(db, programs):
    """Wrong dtype/rank/shape on unpack, missing keys, bad datasets/models: a status and a
    message, never a crash."""
    r = run(programs["ftest"], "bad_input", env=db.env())
    assert r.stdout.count("expected ") == 20


def test_uninitialised_client_is_an_error(standalone_db, programs):
    r = run(programs["ftest"], "no_init", env=standalone_db.env())
    assert "not initialised" in r.stdout


def test_c_layout_and_uint16(db, programs):
    run(programs["ctest"], "c_layout", env=db.env())
    c = db.smartredis()
    np.testing.assert_array_equal(c.get_tensor("c_int"), np.array([[1, 2, 3], [4, 5, 6]], np.int32))
    u = c.get_tensor("c_u16")
    assert u.dtype == np.uint16 and list(u) == [1, 2, 3, 65535, 0]


def test_prefixes_sskeyin_sskeyout(db, programs):
    """SSKEYOUT on writes, SSKEYIN (first entry by default, set_data_source to switch) on reads,
    and the use_*_ensemble_prefix switches — checked against the SmartRedis client's view."""
    c = db.smartredis()
    c.put_tensor("p_in1.from_py", np.zeros(2))
    c.put_tensor("p_in2.from_py2", np.zeros(2))
    from smartredis import Dataset
    d = Dataset("x")
    d.add_tensor("a", np.zeros(1))
    c.put_dataset(d)
    c.append_to_list("p_in1.PLIN", d)
    run(programs["ctest"], "prefixes", env=db.env(SSKEYOUT="p_out", SSKEYIN="p_in1,p_in2"))
    assert c.tensor_exists("p_out.pt")
    assert c.tensor_exists("raw")
    assert not c.tensor_exists("pt")
    assert c.key_exists("p_out.{pds}.meta")
    assert c.get_list_length("p_out.PL") == 1


def test_metadata_bytes_exact(standalone_db, programs):
    """The meta hash holds SmartRedis's byte format (docs/protocol.md §2.3) and the .COMPLETE flag."""
    import redis
    run(programs["ftest"], "put_dataset", "bytes_ds", "", env=standalone_db.env())
    r = redis.Redis(port=standalone_db.servers[0].port)
    h = r.hgetall("{bytes_ds}.meta")
    assert h[b".COMPLETE"] == b"1"
    assert h[b"step"] == b"\x03" + struct.pack("<i", 7)
    assert h[b"time"] == b"\x01" + struct.pack("<dd", 0.25, 0.5)
    assert h[b"dx"] == b"\x02" + struct.pack("<f", 0.125)
    assert h[b"big"] == b"\x04" + struct.pack("<q", 123456789012)
    assert h[b"label"] == b"\x07" + struct.pack("<Q", 5) + b"alpha" + struct.pack("<Q", 10) + b"beta gamma"
    names = b"".join(struct.pack("<Q", len(n)) + n for n in (b"u", b"p", b"idx"))
    assert h[b".tensor_names"] == b"\x07" + names
    assert set(r.keys("{bytes_ds}*")) == {b"{bytes_ds}.meta", b"{bytes_ds}.u", b"{bytes_ds}.p", b"{bytes_ds}.idx"}


def test_unix_socket(standalone_db, programs):
    """SSDB=unix:///path works for a standalone database."""
    s = standalone_db.servers[0]
    env = standalone_db.env(SSDB=f"unix://{s.unix}")
    run(programs["ftest"], "put_all", "ux_", env=env)
    np.testing.assert_array_equal(standalone_db.smartredis().get_tensor("ux_r8_2"), expected(np.float64, (3, 5)))


def test_bad_ssdb_and_unix_in_cluster(standalone_db, programs):
    r = run(programs["ftest"], "connect_fail", env=standalone_db.env(SSDB="127.0.0.1:6379;rm"), check=False)
    assert r.returncode == 0 and "code=5" in r.stdout and "invalid because of character ;" in r.stdout
    r = run(programs["ftest"], "connect_fail", env=standalone_db.env(SSDB="unix:///tmp/x.sock", SR_DB_TYPE="Clustered"),
            check=False)
    assert "Unix Domain Socket is not supported with clustered Redis" in r.stdout
    r = run(programs["ftest"], "connect_fail", env=standalone_db.env(SR_CONN_TIMEOUT="abc"), check=False)
    assert "code=5" in r.stdout and "SR_CONN_TIMEOUT" in r.stdout


def test_cluster_type_against_standalone_is_clear(standalone_db, programs):
    """SR_DB_TYPE defaults to Clustered, as in SmartRedis; against a standalone server the error
    says what to change."""
    env = standalone_db.env()
    del env["SR_DB_TYPE"]
    r = run(programs["ftest"], "connect_fail", env=env, check=False)
    assert "SR_DB_TYPE=Standalone" in r.stdout

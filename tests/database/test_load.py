"""What comes back from outside (RESTORE payloads, RDB files) is checked before it is kept:
crafted values are refused with an error, never crash the server, and a value that cannot load
at start-up is dropped while the rest of the data loads. Also the limits that keep store and
load consistent (64 dimensions), stats that follow RENAME, the NaN policy and the size limit of
VALUES replies."""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import redis

import _rdb as R
from _dbnets import SCRIPT, traced_mlp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

F32 = (2, 32)  # DLPack code and bits of FLOAT


def module_ids(r) -> dict[str, int]:
    """The module type ids of tensor, model and script, read from DUMPs of real values."""
    _, blob = traced_mlp()
    r.execute_command("AI.TENSORSET", "_t", "FLOAT", 1, "VALUES", 1)
    r.execute_command("AI.MODELSTORE", "_m", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "_s", "CPU", "SOURCE", SCRIPT)
    ids = {k: R.module_id(r.dump(f"_{k[0]}")) for k in ("tensor", "model", "script")}
    r.delete("_t", "_m", "_s")
    return ids


def crafted(ids) -> dict[str, bytes]:
    """Module value bodies whose bytes are complete but whose contents lie."""
    t, m, s = ids["tensor"], ids["model"], ids["script"]
    four = np.ones(1, np.float32).tobytes()
    return {
        "dims65": R.module_value(t, R.tensor_fields(*F32, [1] * 65, four)),
        "negdim": R.module_value(t, R.tensor_fields(*F32, [-2, -2], four * 4)),
        "negndims": R.module_value(t, R.tensor_fields(*F32, [], four, ndims=-1)),
        "dims2e44": R.module_value(t, R.tensor_fields(*F32, [2**44], four)),
        "overflow": R.module_value(t, R.tensor_fields(*F32, [2**62, 2**62, 4], four)),
        "dtype": R.module_value(t, R.tensor_fields(7, 32, [1], four)),
        "short_blob": R.module_value(t, R.tensor_fields(*F32, [3], four * 2)),
        "model_total2e62": R.module_value(m, R.model_fields([b"abc"], total=2**62)),
        "model_total2e44": R.module_value(m, R.model_fields([b"abc"], total=2**44)),
        "model_chunks_long": R.module_value(m, R.model_fields([b"abc", b"def"], total=4)),
        "model_backend": R.module_value(m, R.model_fields([b"abc"], backend=9)),
        "model_device": R.module_value(m, R.model_fields([b"abc"], device=b"TPU")),
        "script_device": R.module_value(s, R.script_fields(SCRIPT.encode(), device=b"QPU:x")),
    }


def truncated(ids) -> dict[str, bytes]:
    """Bodies that end early or declare more than they hold (valid checksum around them)."""
    t, m = ids["tensor"], ids["model"]
    short_str = bytes([R.OP_STRING]) + R.length(100) + b"abc"
    huge_str = bytes([R.OP_STRING]) + R.length(2**44) + b"abc"
    return {
        "cut_string": R.module_value(t, [("u", 2), ("u", 32), ("s", 1), ("s", 25), ("raw", short_str)], eof=False),
        "huge_string": R.module_value(t, [("u", 2), ("u", 32), ("s", 1), ("s", 2**40), ("raw", huge_str)], eof=False),
        "ndims2e62": R.module_value(t, R.tensor_fields(*F32, [], b"", ndims=2**62)),
        "model_nchunks": R.module_value(m, R.model_fields([b"abc"], total=3, nchunks=2**44)),
        "model_inputs": R.module_value(m, [("u", 2), ("b", b"CPU\0"), ("b", b""), ("u", 0), ("u", 0), ("u", 0),
                                           ("u", 2**62)]),
        "no_eof": R.module_value(t, R.tensor_fields(*F32, [1], b"\0" * 4), eof=False),
        "empty": R.module_value(t, []),
    }


def test_restore_refuses_crafted_and_truncated_values(r):
    ids = module_ids(r)
    for name, body in {**crafted(ids), **truncated(ids)}.items():
        with pytest.raises(redis.ResponseError) as e:
            r.restore(name, 0, R.dump_payload(body))
        assert "bad data format" in str(e.value).lower(), name
        assert r.exists(name) == 0, name
        assert r.ping()
    # a well-formed hand-made value loads and reads back
    data = np.arange(6, dtype=np.float32)
    ok = R.module_value(ids["tensor"], R.tensor_fields(*F32, [2, 3], data.tobytes()))
    assert r.restore("good", 0, R.dump_payload(ok)) == b"OK"
    assert r.execute_command("AI.TENSORGET", "good", "BLOB") == data.tobytes()
    # an empty dimension is something a model output can have: it loads too
    empty = R.module_value(ids["tensor"], R.tensor_fields(*F32, [0, 3], b""))
    assert r.restore("empty_dim", 0, R.dump_payload(empty)) == b"OK"
    assert r.execute_command("AI.TENSORGET", "empty_dim", "META")[3] == [0, 3]


def test_crafted_rdb_loads_everything_else(new_server):
    """An RDB file with values that cannot load: the server starts, those keys are dropped
    with a warning, every other key (module types and plain Redis values) is there."""
    probe = new_server().start()
    ids = module_ids(probe.redis())
    probe.stop()
    _, blob = traced_mlp()
    data = np.linspace(0, 1, 12, dtype=np.float32)
    good = {
        b"t": R.module_value(ids["tensor"], R.tensor_fields(*F32, [3, 4], data.tobytes())),
        b"m": R.module_value(ids["model"], R.model_fields([blob[:1000], blob[1000:]])),
        b"s": R.module_value(ids["script"], R.script_fields(SCRIPT.encode())),
        b"plain": R.string_value(b"hello"),
    }
    bad = {k.encode(): v for k, v in crafted(ids).items()}
    entries, goods = [], list(good.items())
    for i, item in enumerate(bad.items()):  # good values between and after bad ones
        entries.append(item)
        if i % 3 == 1 and goods:
            entries.append(goods.pop())
    entries += goods
    s = new_server(persist=True)
    s.workdir.mkdir(parents=True, exist_ok=True)
    (s.workdir / "dump.rdb").write_bytes(R.rdb_file(entries))
    s.start()
    r = s.redis()
    assert sorted(r.keys()) == sorted(good)
    assert r.get("plain") == b"hello"
    assert r.execute_command("AI.TENSORGET", "t", "BLOB") == data.tobytes()
    assert r.execute_command("AI.MODELGET", "m", "BLOB") == blob
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, 6)
    assert r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
    log = s.log()
    for k in bad:
        assert f"dropped key '{k.decode()}'" in log, k
    # and what is left saves and loads again
    s.restart()
    assert s.redis().dbsize() == 6 and s.redis().exists("t", "m", "s", "plain", "x", "y") == 6


def test_corrupt_rdb_is_refused_with_a_message_not_a_crash(new_server):
    """A value cut short inside the file: Redis refuses the file with its own message (the
    module reports the I/O error instead of making Redis panic)."""
    probe = new_server().start()
    ids = module_ids(probe.redis())
    probe.stop()
    body = truncated(ids)["cut_string"]
    s = new_server(persist=True)
    s.workdir.mkdir(parents=True, exist_ok=True)
    (s.workdir / "dump.rdb").write_bytes(R.rdb_file([(b"k", body)]))
    with pytest.raises(RuntimeError, match="exited"):
        s.start(timeout=30)
    log = s.log()
    assert "short read or corrupt data while loading tensor 'k'" in log
    assert "crashed by signal" not in log and "STACK TRACE" not in log


def test_65_dimensions_refused_at_store_and_64_survive_a_restart(new_server):
    s = new_server(persist=True).start()
    r = s.redis()
    with pytest.raises(redis.ResponseError, match="at most 64 dimensions"):
        r.execute_command("AI.TENSORSET", "t65", "FLOAT", *([1] * 65))
    with pytest.raises(redis.ResponseError, match="at most 64 dimensions"):
        r.execute_command("AI.TENSORSET", "t65", "INT8", *([1] * 65), "BLOB", b"\x01")
    assert r.execute_command("AI.TENSORSET", "t64", "INT8", *([1] * 63), 2, "VALUES", 3, 4) == b"OK"
    r.set("other", "v")
    s.restart()
    r = s.redis()
    meta = r.execute_command("AI.TENSORGET", "t64", "META", "VALUES")
    assert meta[3] == [1] * 63 + [2] and meta[5] == [3, 4]
    assert r.get("other") == b"v" and r.exists("t65") == 0


def test_stats_follow_rename(r):
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "v1", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", SCRIPT)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, 6)
    r.execute_command("AI.MODELEXECUTE", "m", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    r.execute_command("AI.SCRIPTEXECUTE", "s", "add_mul", "INPUTS", 2, "x", "x", "OUTPUTS", 2, "a", "b")
    assert r.rename("m", "m2") and r.rename("s", "s2")
    for old in ("m", "s"):
        with pytest.raises(redis.ResponseError, match="cannot find run info"):
            r.execute_command("AI.INFO", old)
    info = dict(zip(*[iter(r.execute_command("AI.INFO", "m2"))] * 2))
    assert info[b"key"] == b"m2" and info[b"calls"] == 1 and info[b"tag"] == b"v1"
    info = dict(zip(*[iter(r.execute_command("AI.INFO", "s2"))] * 2))
    assert info[b"key"] == b"s2" and info[b"calls"] == 1
    # renaming onto an existing model replaces it: the stats are the moved model's
    r.execute_command("AI.MODELSTORE", "m3", "TORCH", "CPU", "TAG", "v3", "BLOB", blob)
    assert r.rename("m2", "m3")
    info = dict(zip(*[iter(r.execute_command("AI.INFO", "m3"))] * 2))
    assert info[b"tag"] == b"v1" and info[b"calls"] == 1
    r.delete("m3")
    with pytest.raises(redis.ResponseError, match="cannot find run info"):
        r.execute_command("AI.INFO", "m3")


def test_nan_is_kept_the_same_way_through_values_and_blob(r):
    values = ["nan", "-inf", "inf", "NaN", "1.5", "-NAN"]
    for dtype, np_t in (("FLOAT", np.float32), ("DOUBLE", np.float64)):
        assert r.execute_command("AI.TENSORSET", "v", dtype, 6, "VALUES", *values) == b"OK"
        got = np.frombuffer(r.execute_command("AI.TENSORGET", "v", "BLOB"), np_t)
        want = np.array([math.nan, -math.inf, math.inf, math.nan, 1.5, math.nan], np_t)
        assert np.array_equal(got, want, equal_nan=True)
        assert r.execute_command("AI.TENSORSET", "b", dtype, 6, "BLOB", want.tobytes()) == b"OK"
        back = r.execute_command("AI.TENSORGET", "b", "VALUES")
        assert np.array_equal(np.array([float(x) for x in back], np_t), want, equal_nan=True)
    with pytest.raises(redis.ResponseError, match="invalid value"):
        r.execute_command("AI.TENSORSET", "v", "INT32", 1, "VALUES", "nan")
    with pytest.raises(redis.ResponseError, match="invalid value"):
        r.execute_command("AI.TENSORSET", "v", "FLOAT", 1, "VALUES", "nano")


def test_values_reply_is_limited_and_points_to_blob(r):
    n = 1 << 18
    r.execute_command("AI.TENSORSET", "ok", "INT8", n)
    assert len(r.execute_command("AI.TENSORGET", "ok", "VALUES")) == n
    r.execute_command("AI.TENSORSET", "big", "INT8", n + 1)
    with pytest.raises(redis.ResponseError, match="use BLOB"):
        r.execute_command("AI.TENSORGET", "big", "VALUES")
    with pytest.raises(redis.ResponseError, match="use BLOB"):
        r.execute_command("AI.TENSORGET", "big", "META", "VALUES")
    assert len(r.execute_command("AI.TENSORGET", "big", "BLOB")) == n + 1
    assert r.ping()


def test_memory_usage_counts_models_and_scripts(r):
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.MODELSTORE", "tf", "TF", "CPU", "INPUTS", 1, "a", "OUTPUTS", 1, "b", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", SCRIPT)
    # a loaded TorchScript model counts its bytes and libtorch's copy; a stored-only one its bytes
    assert r.memory_usage("m") >= 2 * len(blob)
    assert len(blob) <= r.memory_usage("tf") < 2 * len(blob)
    assert r.memory_usage("s") >= 4 * len(SCRIPT)


def test_damaged_model_archive_is_not_handed_to_libtorch(r):
    """A model value whose TorchScript archive is damaged (a stored entry that fails its CRC-32,
    an entry declaring more bytes than the archive holds): libtorch never reads it (its
    unpickler sizes buffers from the damaged bytes), the model is kept and execution says why."""
    ids = module_ids(r)
    _, blob = traced_mlp()
    pkl = blob.index(b"data.pkl") + 200  # inside the stored data.pkl record
    flipped = blob[:pkl] + bytes([blob[pkl] ^ 0x40]) + blob[pkl + 1:]
    cd = blob.rindex(b"PK\x01\x02")  # last central directory entry: declare 2^31 bytes
    huge = blob[:cd + 24] + struct.pack("<I", 2**31) + blob[cd + 28:]
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, 6)
    for name, bad in (("crc", flipped), ("size", huge)):
        body = R.module_value(ids["model"], R.model_fields([bad]))
        assert r.restore(name, 0, R.dump_payload(body)) == b"OK"
        with pytest.raises(redis.ResponseError, match="not a valid TorchScript archive"):
            r.execute_command("AI.MODELEXECUTE", name, "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    good = R.module_value(ids["model"], R.model_fields([blob]))
    assert r.restore("good", 0, R.dump_payload(good)) == b"OK"
    assert r.execute_command("AI.MODELEXECUTE", "good", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"

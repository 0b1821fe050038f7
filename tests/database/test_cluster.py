"""A 3-shard Redis Cluster with the module, driven by the SmartRedis cluster client."""
from __future__ import annotations

import numpy as np
import pytest
from smartredis import Client, Dataset

from _dbnets import SCRIPT, traced_mlp
from _dbresp import Resp, RespError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def cclient(cluster):
    c = Client(address=cluster.address, cluster=True)
    c.flush_db([s.address for s in cluster.servers])
    return c


def test_tensors_spread_over_all_shards(cluster, cclient):
    arrays = {f"t{i}": np.random.default_rng(i).standard_normal((i + 1, 3)) for i in range(30)}
    for k, a in arrays.items():
        cclient.put_tensor(k, a)
    for k, a in arrays.items():
        assert np.array_equal(cclient.get_tensor(k), a)
    counts = [s.redis().dbsize() for s in cluster.servers]
    assert all(n > 0 for n in counts) and sum(counts) == 30
    cclient.rename_tensor("t1", "moved")  # different slot: copy + UNLINK
    assert np.array_equal(cclient.get_tensor("moved"), arrays["t1"]) and not cclient.tensor_exists("t1")


def test_datasets_and_lists(cluster, cclient):
    for i in range(6):
        d = Dataset(f"snap.{i}")
        d.add_tensor("u", np.full((2, 2), i, np.float32))
        d.add_meta_scalar("step", np.int64(i))
        cclient.put_dataset(d)
        cclient.append_to_list("snaps", d)
    assert cclient.get_list_length("snaps") == 6
    got = cclient.get_datasets_from_list("snaps")
    assert [int(d.get_meta_scalars("step")[0]) for d in got] == list(range(6))
    assert float(got[4].get_tensor("u")[0, 0]) == 4.0


def test_models_and_scripts_run_on_every_shard(cluster, cclient):
    import torch

    net, blob = traced_mlp()
    cclient.set_model("mlp", blob, "TORCH", "CPU")
    assert cclient.model_exists("mlp") and cclient.get_model("mlp") == blob
    cclient.set_script("scr", SCRIPT, "CPU")
    for i in range(9):  # inputs land on different shards, so every shard's copy is used
        x = np.random.default_rng(i).standard_normal((5, 6)).astype(np.float32)
        cclient.put_tensor(f"x{i}", x)
        cclient.run_model("mlp", [f"x{i}"], [f"y{i}"])
        with torch.no_grad():
            assert np.allclose(cclient.get_tensor(f"y{i}"), net(torch.from_numpy(x)).numpy(), atol=1e-6)
        cclient.run_script("scr", "add_mul", [f"x{i}", f"x{i}"], [f"s{i}", f"p{i}"])
        assert np.allclose(cclient.get_tensor(f"p{i}"), x * x)
    calls = 0
    for s in cluster.servers:
        raw = s.redis().execute_command("AI.INFO", next(k for k in s.redis().keys(b"*") if k.endswith(b".mlp")))
        calls += dict(zip(raw[::2], raw[1::2]))[b"calls"]
    assert calls == 9
    cclient.delete_model("mlp")
    cclient.delete_script("scr")
    assert not cclient.model_exists("mlp")
    assert all(not any(k.endswith((b".mlp", b".scr")) for k in s.redis().keys(b"*")) for s in cluster.servers)


def test_cross_slot_execution_is_rejected(cluster, cclient):
    _, blob = traced_mlp()
    cclient.set_model("mlp", blob, "TORCH", "CPU")
    node = cluster.servers[0]
    model_key = next(k for k in node.redis().keys(b"*") if k.endswith(b".mlp"))
    conn = Resp(node.port)
    try:
        reply = conn.call("AI.MODELEXECUTE", model_key, "INPUTS", 1, "some_input", "OUTPUTS", 1, "out", "TIMEOUT", 100)
        pytest.fail(f"expected CROSSSLOT or MOVED, got {reply!r}")
    except RespError as e:
        assert str(e).startswith(("CROSSSLOT", "MOVED"))
    with pytest.raises(RespError, match="CROSSSLOT"):
        conn.call("AI.SCRIPTRUN", b"{a}.s", "f", "INPUTS", b"{a}.x", b"{b}.y", "OUTPUTS", b"{a}.o")
    with pytest.raises(RespError, match="CROSSSLOT"):
        conn.call("AI.SCRIPTEXECUTE", b"{a}.s", "f", "INPUTS", 1, b"{c}.x", "OUTPUTS", 1, b"{a}.o")
    conn.close()

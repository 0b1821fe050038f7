"""AI.DAGEXECUTE and AI.DAGEXECUTE_RO as in RedisAI 1.2, sent as raw commands with redis-py
(docs/database.md, "DAG"): LOAD, PERSIST, ROUTING, TIMEOUT, |>-chained ops, one reply per op."""
from __future__ import annotations

import numpy as np
import pytest
import redis
import torch

from _dbnets import SCRIPT, traced_mlp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_tensor_only_dag_loads_and_persists(r):
    r.execute_command("AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1, 2)
    reply = r.execute_command("AI.DAGEXECUTE", "LOAD", 1, "a", "PERSIST", 1, "b",
                              "|>", "AI.TENSORSET", "b", "INT32", 2, "VALUES", 7, 8,
                              "|>", "AI.TENSORGET", "a", "VALUES",
                              "|>", "AI.TENSORGET", "b", "META")
    assert reply == [b"OK", [b"1", b"2"], [b"dtype", b"INT32", b"shape", [2]]]
    assert r.execute_command("AI.TENSORGET", "b", "VALUES") == [7, 8]


def test_model_and_script_in_one_dag(r):
    net, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", SCRIPT)
    x = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    reply = r.execute_command(
        "AI.DAGEXECUTE", "PERSIST", 1, "z", "ROUTING", "mlp",
        "|>", "AI.TENSORSET", "x", "FLOAT", 5, 6, "BLOB", x.tobytes(),
        "|>", "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
        "|>", "AI.SCRIPTEXECUTE", "s", "add_mul", "INPUTS", 2, "y", "y", "OUTPUTS", 2, "z", "zz",
        "|>", "AI.TENSORGET", "y", "BLOB")
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()
    assert reply[:3] == [b"OK", b"OK", b"OK"]
    assert np.allclose(np.frombuffer(reply[3], np.float32).reshape(5, 6), y, rtol=1e-5, atol=1e-6)
    z = np.frombuffer(r.execute_command("AI.TENSORGET", "z", "BLOB"), np.float32).reshape(5, 6)
    assert np.allclose(z, 2 * y, rtol=1e-5, atol=1e-6)
    assert r.exists("x", "y", "zz") == 0  # DAG-local names stay out of the keyspace
    info = r.execute_command("AI.INFO", "mlp")
    assert dict(zip(info[::2], info[1::2]))[b"calls"] == 1


def test_failed_op_stops_the_dag_and_nothing_is_persisted(r):
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    reply = r.execute_command("AI.DAGEXECUTE", "PERSIST", 1, "y",
                              "|>", "AI.TENSORSET", "x", "FLOAT", 2, 5,  # wrong width
                              "|>", "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
                              "|>", "AI.TENSORGET", "y", "META")
    assert reply[0] == b"OK" and isinstance(reply[1], redis.ResponseError) and reply[2] == b"NA"
    assert r.exists("y") == 0


def test_read_only_dag(r):
    _, blob = traced_mlp()
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "s", "CPU", "SOURCE", SCRIPT)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 6, "VALUES", *range(6))
    reply = r.execute_command("AI.DAGEXECUTE_RO", "LOAD", 1, "x",
                              "|>", "AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
                              "|>", "AI.TENSORGET", "y", "META")
    assert reply == [b"OK", [b"dtype", b"FLOAT", b"shape", [1, 6]]]
    with pytest.raises(redis.ResponseError, match="PERSIST cannot be specified in a read-only DAG"):
        r.execute_command("AI.DAGEXECUTE_RO", "PERSIST", 1, "t", "|>", "AI.TENSORSET", "t", "FLOAT", 1)
    with pytest.raises(redis.ResponseError, match="AI.SCRIPTEXECUTE command cannot be specified in a read-only DAG"):
        r.execute_command("AI.DAGEXECUTE_RO", "LOAD", 1, "x", "|>", "AI.SCRIPTEXECUTE", "s", "add_mul",
                          "INPUTS", 2, "x", "x", "OUTPUTS", 2, "p", "q")


@pytest.mark.parametrize("args, message", [
    ((), "missing arguments for 'AI.DAGEXECUTE' command"),
    (("|>", "AI.TENSORSET", "a", "FLOAT", 1), "must contain at least one out of ROUTING, LOAD, PERSIST"),
    (("ROUTING", "a"), "DAG is empty"),
    (("ROUTING",), "Missing ROUTING value"),
    (("LOAD", 1), "missing arguments after LOAD keyword"),
    (("LOAD", "x", "a"), "invalid or negative value found in number of keys to LOAD"),
    (("LOAD", 2, "a", "|>", "AI.TENSORGET", "a"), "number of keys to LOAD into DAG does not match"),
    (("PERSIST", 2, "a"), "number of keys to PERSIST after DAG execution does not match"),
    (("ROUTING", "a", "TIMEOUT"), "No value provided for TIMEOUT"),
    (("ROUTING", "a", "TIMEOUT", "soon"), "Invalid value for TIMEOUT"),
    (("ROUTING", "a", "BAD_ARG"), "Unexpected argument: BAD_ARG"),
    (("ROUTING", "a", "|>", "AI.NOCOMMAND", "a"), "Unsupported command within DAG"),
    (("ROUTING", "a", "|>", "AI.MODELRUN", "m", "INPUTS", "a", "OUTPUTS", "b"),
     "Deprecated AI.MODELRUN cannot be used in AI.DAGEXECUTE command"),
    (("ROUTING", "a", "|>", "AI.TENSORGET", "nowhere", "META"), "INPUT key cannot be found in DAG"),
    (("PERSIST", 1, "nowhere", "|>", "AI.TENSORSET", "a", "FLOAT", 1), "PERSIST key cannot be found in DAG"),
    (("ROUTING", "a", "|>", "AI.TENSORSET", "a", "FLOAT", 1, "|>", "AI.TENSORGET"),
     "wrong number of arguments for 'AI.TENSORGET' command"),
    (("ROUTING", "a", "|>", "AI.TENSORSET", "a", "FLOAT", 2, "VALUES", 1), "wrong number of values"),
    (("ROUTING", "a", "|>", "AI.MODELEXECUTE", "nomodel", "INPUTS", 1, "a", "OUTPUTS", 1, "b"),
     "model key is empty"),
])
def test_dag_errors(r, args, message):
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command("AI.DAGEXECUTE", *args)


def test_load_of_missing_or_wrong_key(r):
    with pytest.raises(redis.ResponseError, match="tensor key is empty"):
        r.execute_command("AI.DAGEXECUTE", "LOAD", 1, "none", "|>", "AI.TENSORGET", "none", "META")
    r.set("str", "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.execute_command("AI.DAGEXECUTE", "LOAD", 1, "str", "|>", "AI.TENSORGET", "str", "META")


def test_dag_keys_route_in_a_cluster(cluster):
    """Every keyspace key of a DAG is reported to the cluster: a cross-slot DAG is refused, a
    DAG is served by the shard that owns its ROUTING key and redirected by the others."""
    conns = [s.redis() for s in cluster.servers]
    with pytest.raises(redis.exceptions.ClusterCrossSlotError):
        conns[0].execute_command("AI.DAGEXECUTE", "LOAD", 1, "x{1}", "PERSIST", 1, "y{2}",
                                 "|>", "AI.TENSORSET", "y{2}", "FLOAT", 1)
    replies, moved = [], 0
    for c in conns:
        try:
            replies.append(c.execute_command("AI.DAGEXECUTE", "ROUTING", "{r}", "PERSIST", 1, "t{r}",
                                             "|>", "AI.TENSORSET", "t{r}", "FLOAT", 1, "VALUES", 3,
                                             "|>", "AI.TENSORGET", "t{r}", "VALUES"))
        except redis.exceptions.MovedError:
            moved += 1
    assert replies == [[b"OK", [b"3"]]] and moved == len(conns) - 1

"""Batching of AI.MODELEXECUTE (docs/database.md, "Batching"): concurrent requests for a model
stored with BATCHSIZE > 0 run as one forward call when their inputs agree in dtype and in every
dimension but the first, and each client gets exactly its own rows back."""
from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np
import pytest
import redis
import torch

from _batchclients import dag_run, smartredis_run
from _dbnets import to_bytes, traced_mlp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Affine(torch.nn.Module):
    """Row-wise and shape-agnostic: y = 2x + 1, any dtype and shape."""

    def forward(self, x):
        return 2 * x + 1


class FailsOnNegative(torch.nn.Module):
    def forward(self, x):
        if bool((x < 0).any()):
            raise ValueError("negative input")
        return x + 1


class Reduces(torch.nn.Module):
    """Its output has no batch dimension: a batch of it cannot be split."""

    def forward(self, x):
        return x.sum(0)


def info(r, key: str) -> dict:
    raw = r.execute_command("AI.INFO", key)
    return {k.decode(): v for k, v in zip(raw[::2], raw[1::2])}


def assert_affine_answers(got: dict, inputs: dict) -> None:
    """Every client's answer is Affine's, exactly, in its own dtype and shape."""
    for tag, x in inputs.items():
        status, y = got[tag]
        assert status == "ok", y
        assert y.dtype == x.dtype and y.shape == x.shape
        np.testing.assert_array_equal(y, 2 * x + 1)


def run_clients(address: str, model: str, inputs: dict, timeout: float = 60.0,
                dags: tuple = ()) -> dict:
    """One client process per input, all sending at once; {tag: (status, value)}. The tags in
    `dags` send their request as one AI.DAGEXECUTE (redis-py), the others through SmartRedis."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(inputs)), ctx.Queue()
    procs = [ctx.Process(target=dag_run if tag in dags else smartredis_run,
                         args=(address, model, tag, x, barrier, out))
             for tag, x in inputs.items()]
    for p in procs:
        p.start()
    try:
        got = {}
        for _ in procs:
            tag, status, value = out.get(timeout=timeout)
            got[tag] = (status, value)
        return got
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()


def test_concurrent_requests_merged_into_one_call_and_split_back(server, client, r):
    net, blob = traced_mlp()
    # 4 clients x 8 rows: MINBATCHSIZE 32 holds the first requests until all four are queued
    client.set_model("m", blob, "TORCH", "CPU", batch_size=64, min_batch_size=32)
    meta = r.execute_command("AI.MODELGET", "m", "META")
    meta = dict(zip(meta[::2], meta[1::2]))
    assert meta[b"batchsize"] == 64 and meta[b"minbatchsize"] == 32
    rng = np.random.default_rng(3)
    inputs = {f"c{i}": rng.standard_normal((8, 6)).astype(np.float32) + 10 * i for i in range(4)}
    got = run_clients(server.address, "m", inputs)
    with torch.no_grad():
        for tag, x in inputs.items():
            status, y = got[tag]
            assert status == "ok", y
            assert y.shape == (8, 6)
            np.testing.assert_allclose(y, net(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-5)
    st = info(r, "m")
    assert st["calls"] == 1 and st["samples"] == 32 and st["errors"] == 0


def test_mismatched_shapes_and_dtypes_are_not_merged(server, client, r):
    client.set_model("aff", to_bytes(torch.jit.script(Affine())), "TORCH", "CPU", batch_size=64,
                     min_batch_size=7, min_batch_timeout=1500)
    inputs = {"a": np.full((4, 6), 1, np.float32), "b": np.full((3, 6), 2, np.float32),
              "c": np.full((4, 3), 3, np.float32), "d": np.full((4, 6), 4, np.float64)}
    got = run_clients(server.address, "aff", inputs)
    assert_affine_answers(got, inputs)
    # a and b (7 rows) ran together; c and d waited MINBATCHTIMEOUT and ran alone
    st = info(r, "aff")
    assert (st["calls"], st["samples"]) == (3, 15), st


def test_dags_batch_with_each_other_and_with_modelexecute_requests(server, client, r):
    """A DAG whose one model op takes tensors given before it (AI.TENSORSET ops) batches like an
    AI.MODELEXECUTE of the same model, with other DAGs and with AI.MODELEXECUTE requests; a DAG
    whose inputs do not fit runs alone, after MINBATCHTIMEOUT."""
    client.set_model("aff", to_bytes(torch.jit.script(Affine())), "TORCH", "CPU", batch_size=64,
                     min_batch_size=16, min_batch_timeout=1500)
    rng = np.random.default_rng(5)
    inputs = {t: rng.standard_normal((4, 6)).astype(np.float32) for t in ("sr1", "sr2", "dag1", "dag2")}
    inputs["dag_odd"] = np.ones((4, 3), np.float32)
    got = run_clients(server.address, "aff", inputs, dags=("dag1", "dag2", "dag_odd"))
    assert_affine_answers(got, inputs)
    st = info(r, "aff")
    assert (st["calls"], st["samples"], st["errors"]) == (2, 20, 0), st
    # the DAGs' tensors are their own: nothing of theirs is left in the keyspace
    assert r.exists("x", "y") == 0


def test_a_dag_batches_only_when_its_model_inputs_are_given_before_it(r):
    """With MINBATCHSIZE and no MINBATCHTIMEOUT, a batchable request waits for rows that never
    come (until its TIMEOUT); a DAG that is not batchable (a second model op, or a read before
    the model op) runs at once and answers."""
    r.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", 16, "MINBATCHSIZE", 8,
                      "BLOB", to_bytes(torch.jit.script(Affine())))
    x = ["AI.TENSORSET", "x", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4]
    run = ["AI.MODELEXECUTE", "aff", "INPUTS", 1, "x", "OUTPUTS", 1, "y"]
    get = ["AI.TENSORGET", "y", "VALUES"]
    assert r.execute_command("AI.DAGEXECUTE", "ROUTING", "aff", "TIMEOUT", 300,
                             "|>", *x, "|>", *run, "|>", *get) == b"TIMEDOUT"
    assert info(r, "aff")["calls"] == 0
    twice = ["AI.MODELEXECUTE", "aff", "INPUTS", 1, "y", "OUTPUTS", 1, "z"]
    reply = r.execute_command("AI.DAGEXECUTE", "ROUTING", "aff", "TIMEOUT", 20000,
                              "|>", *x, "|>", *run, "|>", *twice, "|>", "AI.TENSORGET", "z", "VALUES")
    assert reply[:3] == [b"OK", b"OK", b"OK"] and reply[3] == [b"7", b"11", b"15", b"19"]
    reply = r.execute_command("AI.DAGEXECUTE", "ROUTING", "aff", "TIMEOUT", 20000,
                              "|>", *x, "|>", "AI.TENSORGET", "x", "VALUES", "|>", *run, "|>", *get)
    assert reply[3] == [b"3", b"5", b"7", b"9"]
    assert info(r, "aff")["calls"] == 3


def test_a_dag_whose_client_disconnected_is_withdrawn(server, r):
    r.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", 16, "MINBATCHSIZE", 8,
                      "BLOB", to_bytes(torch.jit.script(Affine())))
    dag = ["|>", "AI.TENSORSET", "x", "FLOAT", 4, 1, "VALUES", 1, 2, 3, 4,
           "|>", "AI.MODELEXECUTE", "aff", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
           "|>", "AI.TENSORGET", "y", "VALUES"]
    gone = server.redis(timeout=0.3)
    with pytest.raises(redis.exceptions.TimeoutError):
        gone.execute_command("AI.DAGEXECUTE", "ROUTING", "aff", *dag)
    gone.close()
    # had the first DAG stayed queued, the two would make the 8 rows of a batch
    assert r.execute_command("AI.DAGEXECUTE", "ROUTING", "aff", "TIMEOUT", 500, *dag) == b"TIMEDOUT"
    assert info(r, "aff")["calls"] == 0


def test_minbatchtimeout_runs_a_short_batch(r):
    r.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", 16, "MINBATCHSIZE", 8,
                      "MINBATCHTIMEOUT", 200, "BLOB", to_bytes(torch.jit.script(Affine())))
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
    t0 = time.monotonic()
    assert r.execute_command("AI.MODELEXECUTE", "aff", "INPUTS", 1, "x", "OUTPUTS", 1, "y") == b"OK"
    assert time.monotonic() - t0 < 30  # liveness: it did not wait for rows that never come
    assert r.execute_command("AI.TENSORGET", "y", "VALUES") == [b"3", b"5", b"7", b"9"]


def test_waiting_for_minbatchsize_ends_at_the_request_timeout(r):
    r.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", 16, "MINBATCHSIZE", 8,
                      "BLOB", to_bytes(torch.jit.script(Affine())))
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, 2, "VALUES", 1, 2, 3, 4)
    assert r.execute_command("AI.MODELEXECUTE", "aff", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
                             "TIMEOUT", 300) == b"TIMEDOUT"
    assert r.exists("y") == 0
    # a request larger than BATCHSIZE is served alone, at once
    r.execute_command("AI.TENSORSET", "big", "FLOAT", 20, 1, "BLOB", np.ones(20, np.float32).tobytes())
    assert r.execute_command("AI.MODELEXECUTE", "aff", "INPUTS", 1, "big", "OUTPUTS", 1, "y",
                             "TIMEOUT", 20000) == b"OK"
    assert np.array_equal(np.frombuffer(r.execute_command("AI.TENSORGET", "y", "BLOB"), np.float32),
                          np.full(20, 3, np.float32))


def test_a_failing_batch_fails_every_request_in_it_and_the_model_still_serves(server, client, r):
    client.set_model("neg", to_bytes(torch.jit.script(FailsOnNegative())), "TORCH", "CPU",
                     batch_size=8, min_batch_size=4)
    got = run_clients(server.address, "neg", {"pos": np.ones((2, 3), np.float32),
                                               "neg": -np.ones((2, 3), np.float32)})
    for tag in ("pos", "neg"):
        status, msg = got[tag]
        assert status == "error" and "negative input" in msg, (tag, msg)
    st = info(r, "neg")
    assert st["calls"] == 1 and st["errors"] == 2
    got = run_clients(server.address, "neg", {"p1": np.ones((2, 3), np.float32),
                                              "p2": np.full((2, 3), 5, np.float32)})
    assert got["p1"][0] == "ok" and np.array_equal(got["p1"][1], np.full((2, 3), 2, np.float32))
    assert got["p2"][0] == "ok" and np.array_equal(got["p2"][1], np.full((2, 3), 6, np.float32))


def test_an_output_without_the_batch_dimension_is_a_clear_error(server, client, r):
    client.set_model("red", to_bytes(torch.jit.script(Reduces())), "TORCH", "CPU", batch_size=8,
                     min_batch_size=4)
    got = run_clients(server.address, "red", {"a": np.ones((2, 3), np.float32),
                                              "b": np.ones((2, 3), np.float32)})
    for tag in ("a", "b"):
        status, msg = got[tag]
        assert status == "error" and "cannot be split among the batched requests" in msg, msg


def test_batchsize_zero_runs_each_request_alone(server, client, r):
    _, blob = traced_mlp()
    client.set_model("m0", blob, "TORCH", "CPU")
    inputs = {f"c{i}": np.full((2, 6), i, np.float32) for i in range(3)}
    got = run_clients(server.address, "m0", inputs)
    assert all(s == "ok" for s, _ in got.values())
    assert info(r, "m0")["calls"] == 3


def test_a_request_whose_client_disconnected_is_withdrawn(server, r):
    r.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", 16, "MINBATCHSIZE", 8,
                      "BLOB", to_bytes(torch.jit.script(Affine())))
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 4, 1, "VALUES", 1, 2, 3, 4)
    gone = server.redis(timeout=0.3)
    with pytest.raises(redis.exceptions.TimeoutError):
        gone.execute_command("AI.MODELEXECUTE", "aff", "INPUTS", 1, "x", "OUTPUTS", 1, "stale")
    gone.close()
    # had the first request stayed queued, the two would make the 8 rows of a batch
    assert r.execute_command("AI.MODELEXECUTE", "aff", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
                             "TIMEOUT", 500) == b"TIMEDOUT"
    assert r.exists("stale") == 0 and r.exists("y") == 0
    assert info(r, "aff")["calls"] == 0


def test_each_request_keeps_its_rows_when_the_others_outputs_go(server, client, r):
    """Each request's output is its own rows of the batch's output: deleting, overwriting or
    renaming another request's output leaves a request's value intact."""
    client.set_model("aff", to_bytes(torch.jit.script(Affine())), "TORCH", "CPU", batch_size=64,
                     min_batch_size=12)
    inputs = {t: np.arange(12, dtype=np.float32).reshape(4, 3) + 100 * i for i, t in enumerate("abc")}
    got = run_clients(server.address, "aff", inputs)
    assert all(s == "ok" for s, _ in got.values()), got
    assert info(r, "aff")["calls"] == 1
    r.delete("y_a")
    r.execute_command("AI.TENSORSET", "y_b", "FLOAT", 1, "VALUES", 7)
    r.rename("y_c", "z")
    blob = r.execute_command("AI.TENSORGET", "z", "BLOB")
    np.testing.assert_array_equal(np.frombuffer(blob, np.float32).reshape(4, 3), 2 * inputs["c"] + 1)
    meta = r.execute_command("AI.TENSORGET", "z", "META")
    assert meta[-1] == [4, 3]
    # serialised (DUMP/RESTORE) like any other tensor
    r.restore("w", 0, r.dump("z"))
    blob = r.execute_command("AI.TENSORGET", "w", "BLOB")
    np.testing.assert_array_equal(np.frombuffer(blob, np.float32).reshape(4, 3), 2 * inputs["c"] + 1)


def test_servers_started_by_eddylearn_let_openmp_threads_sleep():
    """libtorch's OpenMP threads must not spin for long on cores that Redis's main thread and
    the solver need (docs/database.md, "Batching"): the environment of the servers eddylearn
    starts (locally, through SmartSim, and in these tests) makes them wait passively after a
    brief spin, unless the user chose otherwise. (Redis overwrites its own /proc environ with
    its title, so it is checked here.)"""
    from eddylearn import database

    assert database.server_env({})["OMP_WAIT_POLICY"] == "PASSIVE"
    assert database.server_env({"OMP_WAIT_POLICY": "ACTIVE"})["OMP_WAIT_POLICY"] == "ACTIVE"
    # a brief spin before sleeping, unless the user chose a policy or a count
    assert database.server_env({})["GOMP_SPINCOUNT"] == str(database.OMP_SPIN_COUNT) == "1000"
    assert "GOMP_SPINCOUNT" not in database.server_env({"OMP_WAIT_POLICY": "ACTIVE"})
    assert "GOMP_SPINCOUNT" not in database.server_env({"OMP_WAIT_POLICY": "PASSIVE"})
    assert database.server_env({"GOMP_SPINCOUNT": "0"})["GOMP_SPINCOUNT"] == "0"
    # the parts of a batch run on the OpenMP threads: they get the workers' 256 MiB stack
    assert database.server_env({})["OMP_STACKSIZE"] == "256M"
    assert database.server_env({"OMP_STACKSIZE": "64M"})["OMP_STACKSIZE"] == "64M"


def test_infer_bench_clients_in_step_all_reach_the_batched_model(server, r):
    """`eddylearn-infer-bench ... pipelined CLIENTS` (the clients of `bench database`, batching):
    every client's requests run and come back with the model's answer shape; a bad CLIENTS is
    refused by name."""
    import re
    import subprocess

    from eddylearn import solver
    from eddylearn.client_config import prefix
    from eddylearn.consumers.trainer import SGSNet, scripted_bytes

    r.execute_command("AI.MODELSTORE", "sgs", "TORCH", "CPU", "BATCHSIZE", 64, "BLOB",
                      scripted_bytes(SGSNet((8,))))
    exe = str(prefix() / "bin" / "eddylearn-infer-bench")
    env = solver.child_env({"SSDB": server.address, "SR_DB_TYPE": "Standalone"})
    out = subprocess.run([exe, "sgs", "5", "4", "6", "pipelined", "3"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert re.search(r"clients=3 ", out.stdout), out.stdout
    st = info(r, "sgs")
    # 3 clients x (3 warm-up + 4 timed) requests of 5 rows, in at most as many forward calls
    assert st["samples"] == 3 * 7 * 5 and st["errors"] == 0 and 7 <= st["calls"] <= 21, st
    # each request is one DAG whose tensors are its own: none is left in the keyspace
    assert r.keys("infer_bench*") == []
    bad = subprocess.run([exe, "sgs", "5", "4", "6", "pipelined", "0"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert bad.returncode == 1 and "CLIENTS must be a positive integer" in bad.stderr
    # DTYPE FLOAT: the features go as FLOAT (half the bytes; the server's SLOWLOG, which keeps
    # every command here, shows the requests' AI.TENSORSET ops)
    threshold = r.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    r.config_set("slowlog-log-slower-than", 0)
    r.execute_command("SLOWLOG", "RESET")
    out = subprocess.run([exe, "sgs", "5", "2", "6", "pipelined", "2", "FLOAT"],
                         capture_output=True, text=True, env=env, timeout=120)
    r.config_set("slowlog-log-slower-than", threshold)
    assert out.returncode == 0, out.stderr
    sets = [e[3][e[3].index(b"AI.TENSORSET") + 1:][:2] for e in r.execute_command("SLOWLOG", "GET", 1000)
            if e[3] and e[3][0].upper() == b"AI.DAGEXECUTE_RO"]
    assert sorted(sets) == [[b"infer_bench1.in", b"FLOAT"]] * 5 + [[b"infer_bench2.in", b"FLOAT"]] * 5
    bad = subprocess.run([exe, "sgs", "5", "2", "6", "pipelined", "1", "HALF"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1 and "DTYPE must be DOUBLE or FLOAT, got HALF" in bad.stderr


class TwoInputs(torch.nn.Module):
    """Row-wise on each input alone: its inputs need not share a first dimension."""

    def forward(self, x, y):
        return 2 * x + 1, y - 1


def test_a_request_whose_inputs_differ_in_rows_runs_alone(server, r):
    """Inputs of one request with different first dimensions have no batch dimension to merge
    along: such requests are not merged (each gets exactly its own results) and the server
    stays up."""
    import threading

    r.execute_command("AI.MODELSTORE", "two", "TORCH", "CPU", "BATCHSIZE", 512, "MINBATCHSIZE", 4,
                      "MINBATCHTIMEOUT", 300, "BLOB", to_bytes(torch.jit.script(TwoInputs())))
    host, port = server.address.rsplit(":", 1)
    results, errors = {}, []

    def one(i):
        c = redis.Redis(host=host, port=int(port), socket_timeout=60)
        x = np.full((1, 3), i, np.float32)
        y = np.full((100, 3), 10 * i, np.float32)
        c.execute_command("AI.TENSORSET", f"x{i}", "FLOAT", 1, 3, "BLOB", x.tobytes())
        c.execute_command("AI.TENSORSET", f"y{i}", "FLOAT", 100, 3, "BLOB", y.tobytes())
        try:
            c.execute_command("AI.MODELEXECUTE", "two", "INPUTS", 2, f"x{i}", f"y{i}",
                              "OUTPUTS", 2, f"a{i}", f"b{i}")
        except redis.ResponseError as e:
            errors.append(str(e))
            return
        a = np.frombuffer(c.execute_command("AI.TENSORGET", f"a{i}", "BLOB"), np.float32)
        b = np.frombuffer(c.execute_command("AI.TENSORGET", f"b{i}", "BLOB"), np.float32)
        results[i] = (a, b)

    threads = [threading.Thread(target=one, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sorted(results) == [1, 2]
    for i, (a, b) in results.items():
        np.testing.assert_array_equal(a, np.full(3, 2 * i + 1, np.float32))
        np.testing.assert_array_equal(b, np.full(300, 10 * i - 1, np.float32))
    assert info(r, "two")["calls"] == 2
    assert r.ping()


def test_bench_batching_measures_three_settings_and_merges_clients_in_step():
    """`bench database --parts batching` in miniature: the unbatched, BATCHSIZE and MINBATCHSIZE
    settings each measured, and with MINBATCHSIZE the in-step clients' requests merged into
    fewer forward calls than requests (no timing asserted)."""
    from eddylearn.bench_database import bench_batching

    res = bench_batching(clients=3, rows=16, count=4, repeats=1)
    for name in ("unbatched", "batched", "minbatch"):
        assert len(res[f"runs_{name}"]) == 1 and res[f"requests_per_s_{name}"] > 0
    assert res["speedup"] == res["speedup_minbatch"] > 0
    # the spread of the median: the quartiles of the paired ratios (one repetition: itself)
    assert res["speedup_quartiles_minbatch"] == [res["speedup_minbatch"]] * 2
    # 3 clients in step, a batch waits for all three rows up to MINBATCHTIMEOUT
    assert res["calls_per_request_minbatch"] < 0.75, res
    assert res["forward_ms_unbatched"] > 0
    # what the host took meanwhile, for reading the figures (None where it is not counted)
    s = res["host_steal_fraction"]
    assert s is None or 0.0 <= s <= 1.0
    from eddylearn.bench_database import _steal_note
    assert _steal_note({"host_steal_fraction": 0.183}) == "; the host took 18.3 % of the CPU time (steal)"
    assert _steal_note({"host_steal_fraction": None}) == ""


# ---- a batch run in parts on the intra-op threads (docs/database.md, "Batching") ----

@pytest.fixture(scope="module")
def split_servers(tmp_path_factory):
    """One worker with two intra-op threads (a batch runs in two parts, one per thread, on any
    machine), and one worker with a single intra-op thread (a batch runs at once, and a run
    computes as each part does)."""
    from servers import Server

    two = Server(tmp_path_factory.mktemp("split2"),
                 module_args=("THREADS_PER_QUEUE", "1", "INTRA_OP_PARALLELISM", "2")).start()
    try:
        one = Server(tmp_path_factory.mktemp("split1"),
                     module_args=("THREADS_PER_QUEUE", "1", "INTRA_OP_PARALLELISM", "1")).start()
    except BaseException:
        two.stop()
        raise
    yield two, one
    for s in (two, one):
        s.stop()


def _sgs_blob() -> bytes:
    """The learned SGS network as the solver runs it (its deployed form, (64, 64))."""
    from eddylearn.consumers.trainer import SGSNet, scripted_bytes

    torch.manual_seed(5)
    net = SGSNet((64, 64))
    with torch.no_grad():  # weights away from the initial ones, so every row's answer differs
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return scripted_bytes(net)


def _run_alone(r, model: str, x: np.ndarray) -> np.ndarray:
    r.execute_command("AI.TENSORSET", "alone_x", "FLOAT", *x.shape, "BLOB", x.tobytes())
    assert r.execute_command("AI.MODELEXECUTE", model, "INPUTS", 1, "alone_x", "OUTPUTS", 1,
                             "alone_y") == b"OK"
    y = np.frombuffer(r.execute_command("AI.TENSORGET", "alone_y", "BLOB"), np.float32)
    return y.reshape(x.shape[0], -1)


def _parts(r) -> int:
    return r.info("ai")["ai_batches_in_parts"]


def test_a_batch_in_parts_gives_each_client_its_answer_as_one_thread_computes_it(split_servers):
    """Four clients of unequal rows merged into one batch, which runs in two parts side by side
    (INFO batches_in_parts), each on one thread: each client's answer is, bit for bit, the one
    its request gets alone from a worker with one intra-op thread, and the one it gets alone
    from this worker (two threads, where the products are summed in another order) to within
    single-precision rounding; the batch counts as one call of the model."""
    two, one = split_servers
    blob = _sgs_blob()
    # 6096 rows: two parts of two requests each, of at most 3600 rows, in any order of arrival
    rows = {"a": 2000, "b": 1000, "c": 1600, "d": 1496}
    total = sum(rows.values())
    r2, r1 = two.redis(), one.redis()
    for r in (r2, r1):
        r.flushall()
        r.execute_command("AI.MODELSTORE", "alone", "TORCH", "CPU", "BLOB", blob)
    r2.execute_command("AI.MODELSTORE", "sgs", "TORCH", "CPU", "BATCHSIZE", total,
                       "MINBATCHSIZE", total, "BLOB", blob)
    rng = np.random.default_rng(11)
    inputs = {t: rng.standard_normal((n, 9)).astype(np.float32) for t, n in rows.items()}
    before = _parts(r2)
    got = run_clients(two.address, "sgs", inputs)
    assert _parts(r2) == before + 1
    for tag, x in inputs.items():
        status, y = got[tag]
        assert status == "ok", y
        assert y.shape == (rows[tag], 6) and y.dtype == np.float32
        np.testing.assert_array_equal(y, _run_alone(r1, "alone", x), err_msg=tag)
        np.testing.assert_allclose(y, _run_alone(r2, "alone", x), rtol=2e-5, atol=2e-5, err_msg=tag)
    st = info(r2, "sgs")
    assert (st["calls"], st["samples"], st["errors"]) == (1, total, 0), st
    # the worker keeps its intra-op threads after a batch in parts: the next batch is split too
    again = run_clients(two.address, "sgs", inputs)
    assert _parts(r2) == before + 2
    for tag in inputs:
        np.testing.assert_array_equal(again[tag][1], got[tag][1], err_msg=tag)
    # a batch smaller than kSplitMinRows rows a part runs at once, as a run of one request
    r2.execute_command("AI.MODELSTORE", "small", "TORCH", "CPU", "BATCHSIZE", 64, "MINBATCHSIZE",
                       64, "BLOB", blob)
    small = {t: rng.standard_normal((32, 9)).astype(np.float32) for t in ("s1", "s2")}
    before = _parts(r2)
    got = run_clients(two.address, "small", small)
    assert _parts(r2) == before
    for tag, x in small.items():
        assert got[tag][0] == "ok", got[tag]
        np.testing.assert_array_equal(got[tag][1], _run_alone(r2, "alone", x), err_msg=tag)
    assert info(r2, "small")["calls"] == 1


def test_a_batch_runs_in_parts_from_1024_rows_per_intra_op_thread(split_servers):
    """The threshold of a batch in parts (kSplitMinRows): two requests of 1024 rows on a worker
    with two intra-op threads run as two parts; two of 1000 rows (under 1024 per thread) run as
    one call. Either way each client gets the answer of its own rows."""
    two, _ = split_servers
    blob = _sgs_blob()
    r2 = two.redis()
    r2.execute_command("AI.MODELSTORE", "alone", "TORCH", "CPU", "BLOB", blob)
    rng = np.random.default_rng(23)
    for rows, parts in ((1024, 1), (1000, 0)):
        key = f"sgs{rows}"
        r2.execute_command("AI.MODELSTORE", key, "TORCH", "CPU", "BATCHSIZE", 2 * rows,
                           "MINBATCHSIZE", 2 * rows, "BLOB", blob)
        inputs = {t: rng.standard_normal((rows, 9)).astype(np.float32) for t in ("p", "q")}
        before = _parts(r2)
        got = run_clients(two.address, key, inputs)
        assert _parts(r2) == before + parts, rows
        assert info(r2, key)["calls"] == 1
        for tag, x in inputs.items():
            assert got[tag][0] == "ok", got[tag]
            np.testing.assert_allclose(got[tag][1], _run_alone(r2, "alone", x), rtol=2e-5,
                                       atol=2e-5, err_msg=f"{rows} {tag}")


def test_merged_requests_are_bit_identical_to_unbatched_ones_on_one_thread(split_servers):
    """Where a batch runs as one forward call (one intra-op thread), every client's answer is
    bit for bit the one of the same request run alone."""
    _, one = split_servers
    blob = _sgs_blob()
    r1 = one.redis()
    r1.flushall()
    r1.execute_command("AI.MODELSTORE", "alone", "TORCH", "CPU", "BLOB", blob)
    r1.execute_command("AI.MODELSTORE", "sgs", "TORCH", "CPU", "BATCHSIZE", 2048, "MINBATCHSIZE",
                       1200, "BLOB", blob)
    rng = np.random.default_rng(12)
    inputs = {t: rng.standard_normal((n, 9)).astype(np.float32)
              for t, n in {"a": 700, "b": 300, "c": 200}.items()}
    got = run_clients(one.address, "sgs", inputs)
    for tag, x in inputs.items():
        status, y = got[tag]
        assert status == "ok", y
        np.testing.assert_array_equal(y, _run_alone(r1, "alone", x), err_msg=tag)
    assert info(r1, "sgs")["calls"] == 1


def test_a_part_that_fails_fails_the_whole_batch_in_parts(split_servers):
    """A batch in two parts where only one part's rows make the model fail: every request of the
    batch gets the model's error (as for a batch run at once), and the model still serves."""
    two, _ = split_servers
    r2 = two.redis()
    r2.flushall()
    r2.execute_command("AI.MODELSTORE", "neg", "TORCH", "CPU", "BATCHSIZE", 4096, "MINBATCHSIZE",
                       4096, "BLOB", to_bytes(torch.jit.script(FailsOnNegative())))
    before = _parts(r2)
    got = run_clients(two.address, "neg", {"pos": np.ones((2048, 3), np.float32),
                                            "neg": -np.ones((2048, 3), np.float32)})
    assert _parts(r2) == before + 1
    for tag in ("pos", "neg"):
        status, msg = got[tag]
        assert status == "error" and "negative input" in msg, (tag, msg)
    assert (info(r2, "neg")["calls"], info(r2, "neg")["errors"]) == (1, 2)
    got = run_clients(two.address, "neg", {"p1": np.ones((2048, 3), np.float32),
                                            "p2": np.full((2048, 3), 5, np.float32)})
    assert got["p1"][0] == "ok" and np.array_equal(got["p1"][1], np.full((2048, 3), 2, np.float32))
    assert got["p2"][0] == "ok" and np.array_equal(got["p2"][1], np.full((2048, 3), 6, np.float32))
    # an output without the batch's rows is refused for every request, part by part too
    r2.execute_command("AI.MODELSTORE", "red", "TORCH", "CPU", "BATCHSIZE", 4096, "MINBATCHSIZE",
                       4096, "BLOB", to_bytes(torch.jit.script(Reduces())))
    got = run_clients(two.address, "red", {"a": np.ones((2048, 3), np.float32),
                                            "b": np.ones((2048, 3), np.float32)})
    for tag in ("a", "b"):
        status, msg = got[tag]
        assert status == "error" and "cannot be split among the batched requests" in msg, msg


def test_mismatched_shapes_are_not_merged_on_a_worker_that_splits(split_servers):
    """Requests whose inputs differ in a dimension but the first, or in dtype, never share a
    batch, whatever the parts: each gets its exact answer and runs in its own call."""
    two, _ = split_servers
    r2 = two.redis()
    r2.flushall()
    # c and d have MINBATCHSIZE rows each, so they run as soon as they come (never waiting for
    # MINBATCHTIMEOUT); a waits for b (up to a MINBATCHTIMEOUT long enough for any arrival)
    r2.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", 8192, "MINBATCHSIZE",
                       4096, "MINBATCHTIMEOUT", 30000, "BLOB", to_bytes(torch.jit.script(Affine())))
    inputs = {"a": np.full((2400, 6), 1, np.float32), "b": np.full((1696, 6), 2, np.float32),
              "c": np.full((4096, 5), 3, np.float32), "d": np.full((4096, 6), 4, np.float64)}
    got = run_clients(two.address, "aff", inputs)
    assert_affine_answers(got, inputs)
    st = info(r2, "aff")
    assert (st["calls"], st["samples"]) == (3, 12288), st


def test_a_batch_whose_parts_would_be_unequal_runs_at_once(split_servers):
    """A batch of 16384 + 2048 rows on two intra-op threads would split into parts of 16384 and
    2048 rows, the larger one on one thread: it runs as one call instead (INFO batches_in_parts
    unchanged), and each request still gets its exact answer."""
    two, _ = split_servers
    r2 = two.redis()
    r2.flushall()
    r2.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", 18432, "MINBATCHSIZE",
                       18432, "BLOB", to_bytes(torch.jit.script(Affine())))
    inputs = {"big": np.full((16384, 6), 1, np.float32), "small": np.full((2048, 6), 2, np.float32)}
    before = _parts(r2)
    got = run_clients(two.address, "aff", inputs)
    for tag, x in inputs.items():
        status, y = got[tag]
        assert status == "ok", y
        np.testing.assert_array_equal(y, 2 * x + 1)
    assert info(r2, "aff")["calls"] == 1
    assert _parts(r2) == before
    # the same rows in equal halves are split
    inputs = {"h1": np.full((9216, 6), 1, np.float32), "h2": np.full((9216, 6), 2, np.float32)}
    got = run_clients(two.address, "aff", inputs)
    for tag, x in inputs.items():
        assert got[tag][0] == "ok", got[tag]
        np.testing.assert_array_equal(got[tag][1], 2 * x + 1)
    assert info(r2, "aff")["calls"] == 2
    assert _parts(r2) == before + 1


# ---- when a waiting worker is woken (docs/database.md, "Batching") ----

def _modelexecute_in_thread(server, model: str, key: str, rows: int, results: dict):
    """AI.MODELEXECUTE of `model` on `rows` rows from a connection of its own, in a thread;
    results[key] = (reply or error, seconds, monotonic time of the reply)."""
    import threading

    def go():
        conn = server.redis(timeout=120)
        x = np.arange(rows * 2, dtype=np.float32).reshape(rows, 2)
        conn.execute_command("AI.TENSORSET", f"in_{key}", "FLOAT", rows, 2, "BLOB", x.tobytes())
        t0 = time.monotonic()
        try:
            reply = conn.execute_command("AI.MODELEXECUTE", model, "INPUTS", 1, f"in_{key}",
                                         "OUTPUTS", 1, f"out_{key}", "TIMEOUT", 60000)
        except redis.RedisError as e:
            reply = e
        finally:
            conn.close()
        end = time.monotonic()
        results[key] = (reply, end - t0, end)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def test_a_batch_with_a_shorter_wait_wakes_workers_waiting_for_a_longer_one(server, r):
    """The workers sleep while a batch waits for MINBATCHSIZE rows, until its MINBATCHTIMEOUT.
    A request for another model whose wait ends sooner wakes them to wait for that instead:
    its short batch runs at its own MINBATCHTIMEOUT, not at the first one's. A request that
    completes the first batch wakes them, and both of its requests come back."""
    blob = to_bytes(torch.jit.script(Affine()))
    r.execute_command("AI.MODELSTORE", "slow", "TORCH", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 8,
                      "MINBATCHTIMEOUT", 30000, "BLOB", blob)
    r.execute_command("AI.MODELSTORE", "quick", "TORCH", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 8,
                      "MINBATCHTIMEOUT", 100, "BLOB", blob)
    results: dict = {}
    first = _modelexecute_in_thread(server, "slow", "a", 2, results)
    time.sleep(0.5)  # queued by now; the workers sleep until its MINBATCHTIMEOUT
    quick = _modelexecute_in_thread(server, "quick", "b", 2, results)
    quick.join(60)
    assert "b" in results, "the short batch did not run within 60 s: the workers slept on"
    reply, took, _ = results["b"]
    assert reply == b"OK", reply
    assert took < 15, f"the short batch waited {took:.1f} s: for the other batch's MINBATCHTIMEOUT"
    assert "a" not in results  # the first batch still waits for its rows
    # the rows that complete the first batch wake a worker: both requests run as one call
    second = _modelexecute_in_thread(server, "slow", "c", 6, results)
    for t in (first, second):
        t.join(60)
    assert "a" in results and "c" in results, "the completed batch did not run within 60 s"
    assert results["a"][0] == b"OK" and results["c"][0] == b"OK", results
    assert results["a"][1] < 25, results  # not at its MINBATCHTIMEOUT (30 s)
    assert info(r, "slow")["calls"] == 1 and info(r, "quick")["calls"] == 1
    out = np.frombuffer(r.execute_command("AI.TENSORGET", "out_c", "BLOB"), np.float32)
    np.testing.assert_array_equal(out, 2 * np.arange(12, dtype=np.float32) + 1)


def test_a_batch_falls_due_while_the_worker_that_waited_for_another_computes(server, r):
    """Two workers (THREADS_PER_QUEUE 2), both asleep. A request for `busy` (a batch that waits
    up to 100 ms for rows, then computes for a second or more) has one of them wait for it; a
    request for `quick` (another model, waiting up to 400 ms) comes after and wakes nobody. When
    the first worker takes `busy`'s batch, the other must wake at `quick`'s MINBATCHTIMEOUT and
    run it: `quick` answers before `busy` does, not after it."""
    from _dbnets import scripted_busy_rowwise

    r.execute_command("AI.MODELSTORE", "busy", "TORCH", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 8,
                      "MINBATCHTIMEOUT", 100, "BLOB", scripted_busy_rowwise(5000))
    r.execute_command("AI.MODELSTORE", "quick", "TORCH", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 8,
                      "MINBATCHTIMEOUT", 400, "BLOB", to_bytes(torch.jit.script(Affine())))
    results: dict = {}
    busy = _modelexecute_in_thread(server, "busy", "a", 2, results)
    time.sleep(0.03)
    quick = _modelexecute_in_thread(server, "quick", "b", 2, results)
    for t in (quick, busy):
        t.join(120)
    assert "a" in results and "b" in results, results
    assert results["a"][0] == b"OK" and results["b"][0] == b"OK", results
    assert results["b"][2] < results["a"][2], (
        f"quick answered {results['b'][2] - results['a'][2]:.3f} s after busy: its batch waited "
        f"for the worker computing busy's while the other slept")
    assert info(r, "busy")["calls"] == 1 and info(r, "quick")["calls"] == 1


def test_an_unbatched_request_runs_while_a_batch_waits_for_rows(server, r):
    """A request of a model stored without BATCHSIZE wakes a worker that waits for a batch's
    rows, and runs at once."""
    blob = to_bytes(torch.jit.script(Affine()))
    r.execute_command("AI.MODELSTORE", "slow", "TORCH", "CPU", "BATCHSIZE", 8, "MINBATCHSIZE", 8,
                      "MINBATCHTIMEOUT", 30000, "BLOB", blob)
    r.execute_command("AI.MODELSTORE", "plain", "TORCH", "CPU", "BLOB", blob)
    results: dict = {}
    waiting = _modelexecute_in_thread(server, "slow", "a", 2, results)
    time.sleep(0.3)
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 1, 2, "VALUES", 1, 2)
    t0 = time.monotonic()
    assert r.execute_command("AI.MODELEXECUTE", "plain", "INPUTS", 1, "x", "OUTPUTS", 1, "y",
                             "TIMEOUT", 60000) == b"OK"
    assert time.monotonic() - t0 < 15
    assert r.execute_command("AI.TENSORGET", "y", "VALUES") == [b"3", b"5"]
    assert "a" not in results
    done = _modelexecute_in_thread(server, "slow", "c", 6, results)
    for t in (waiting, done):
        t.join(60)
    assert "a" in results and "c" in results, "the completed batch did not run within 60 s"
    assert results["a"][0] == b"OK" and results["c"][0] == b"OK", results


def _thread_switches(pid: int) -> dict:
    """{tid: (CPU seconds, voluntary context switches)} of a process's threads."""
    import os

    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            status = open(f"/proc/{pid}/task/{tid}/status").read()
        except FileNotFoundError:
            continue
        vol = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
        out[int(tid)] = ((int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"), vol)
    return out


def test_clients_in_step_wake_the_worker_once_per_batch(split_servers):
    """Eight clients in step (eddylearn-infer-bench) send a request each for a model that waits
    for all their rows: the worker sleeps until the last of them arrives, instead of waking for
    each one to find the batch still short (a context switch each, on a core the clients and
    Redis need). Its voluntary context switches stay near one per batch."""
    import subprocess

    from eddylearn import solver
    from eddylearn.client_config import prefix

    _, one = split_servers  # one worker, one intra-op thread: its switches are its own
    r1 = one.redis()
    blob = _sgs_blob()
    r1.execute_command("AI.MODELSTORE", "step", "TORCH", "CPU", "BATCHSIZE", 8 * 64,
                       "MINBATCHSIZE", 8 * 64, "MINBATCHTIMEOUT", 20000, "BLOB", blob)
    r1.execute_command("AI.MODELSTORE", "heavy", "TORCH", "CPU", "BLOB", blob)
    # the worker is the thread that computes a large request
    before = _thread_switches(one.proc.pid)
    x = np.ones((200000, 9), np.float32)
    r1.execute_command("AI.TENSORSET", "hx", "FLOAT", *x.shape, "BLOB", x.tobytes())
    for _ in range(3):
        r1.execute_command("AI.MODELEXECUTE", "heavy", "INPUTS", 1, "hx", "OUTPUTS", 1, "hy")
    after = _thread_switches(one.proc.pid)
    worker = max(after, key=lambda t: after[t][0] - before.get(t, (0.0, 0))[0])
    exe = str(prefix() / "bin" / "eddylearn-infer-bench")
    env = solver.child_env({"SSDB": one.address, "SR_DB_TYPE": "Standalone"})
    rounds = 40
    s0 = _thread_switches(one.proc.pid)[worker][1]
    out = subprocess.run([exe, "step", "64", str(rounds), "6", "pipelined", "8", "FLOAT"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    s1 = _thread_switches(one.proc.pid)[worker][1]
    batches = info(r1, "step")["calls"]
    assert batches == rounds + 3  # every round one batch of the 8 requests (3 warm-up rounds)
    assert (s1 - s0) / batches < 3, f"{s1 - s0} voluntary switches of the worker in {batches} batches"


def _resp_end(buf: bytes, at: int = 0) -> int:
    """Where the RESP2 reply starting at `at` ends in buf, or -1 while it is incomplete."""
    line = buf.find(b"\r\n", at)
    if line < 0:
        return -1
    kind, head = buf[at:at + 1], buf[at + 1:line]
    if kind in (b"+", b"-", b":"):
        return line + 2
    if kind == b"$":
        n = int(head)
        end = line + 2 + max(n, 0) + (2 if n >= 0 else 0)
        return end if n < 0 or len(buf) >= end else -1
    if kind == b"*":
        pos = line + 2
        for _ in range(max(int(head), 0)):
            pos = _resp_end(buf, pos)
            if pos < 0:
                return -1
        return pos
    raise AssertionError(f"not a RESP2 reply: {buf[at:at + 40]!r}")


def _resp_command(*args) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts += [b"$%d\r\n" % len(a), a, b"\r\n"]
    return b"".join(parts)


def _batch_answer_times(server, r, clients: int, rows: int, model: str) -> tuple[list, list]:
    """One batch of `clients` requests, queued in the order of their sockets; the kernel's
    receive time of each client's answer (SO_TIMESTAMPNS) and the answer's bytes."""
    import socket
    import struct

    timestamps = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's, which Python does not name
    host, port = server.address.rsplit(":", 1)
    blocked_before = int(r.info("clients")["blocked_clients"])
    socks = []
    try:
        for k in range(clients):
            s = socket.create_connection((host, int(port)), timeout=30)
            s.setsockopt(socket.SOL_SOCKET, timestamps, 1)
            socks.append(s)
        for k, s in enumerate(socks):
            x = np.arange(rows, dtype=np.float32) + 100 * k
            s.sendall(_resp_command("AI.DAGEXECUTE", "ROUTING", model, "TIMEOUT", 30000,
                                    "|>", "AI.TENSORSET", "x", "FLOAT", rows, "BLOB", x.tobytes(),
                                    "|>", "AI.MODELEXECUTE", model, "INPUTS", 1, "x", "OUTPUTS", 1, "y",
                                    "|>", "AI.TENSORGET", "y", "BLOB"))
            # queued before the next is sent: the queue's order is the sockets' order
            deadline = time.monotonic() + 30
            while (k + 1 < clients and
                   int(r.info("clients")["blocked_clients"]) < blocked_before + k + 1):
                assert time.monotonic() < deadline, "a request was not queued"
                time.sleep(0.005)
        stamps, answers = [], []
        for s in socks:
            buf, first = b"", None
            while _resp_end(buf) < 0:
                data, anc, _, _ = s.recvmsg(1 << 16, socket.CMSG_SPACE(16))
                assert data, "the server closed the connection"
                for level, kind, raw in anc:
                    if first is None and level == socket.SOL_SOCKET and kind == timestamps:
                        sec, nsec = struct.unpack("qq", raw[:16])
                        first = sec * 10**9 + nsec
                buf += data
            assert first is not None, "no receive timestamp"
            stamps.append(first)
            answers.append(buf)
        return stamps, answers
    finally:
        for s in socks:
            s.close()


def test_a_batchs_answers_reach_its_clients_in_the_order_its_requests_came(server, r):
    """Redis replies to unblocked clients in the order they were unblocked but writes the replies
    out last-first; a worker that holds the module lock over a batch's unblocking (Redis's main
    thread idle) unblocks it last-first, so that the answers go out in the order the requests
    came. Eight clients' requests make one batch, queued one after the other; the kernel's
    receive time of each client's answer (SO_TIMESTAMPNS) rises with the request's place in the
    queue, and each answer is its own. The lock is not taken when the main thread is busy at
    that moment (its own timers), so a round may come out otherwise: one of three must be in
    order (with the module before, every round came out last-first)."""
    clients, rows = 8, 4
    r.execute_command("AI.MODELSTORE", "aff", "TORCH", "CPU", "BATCHSIZE", clients * rows,
                      "MINBATCHSIZE", clients * rows, "MINBATCHTIMEOUT", 20000,
                      "BLOB", to_bytes(torch.jit.script(Affine())))
    orders = []
    for attempt in range(3):
        stamps, answers = _batch_answer_times(server, r, clients, rows, "aff")
        for k, a in enumerate(answers):
            want = (2 * (np.arange(rows, dtype=np.float32) + 100 * k) + 1).tobytes()
            assert a.startswith(b"*3\r\n+OK\r\n+OK\r\n") and want in a, (k, a)
        orders.append(sorted(range(clients), key=lambda k: stamps[k]))
        if orders[-1] == list(range(clients)):
            break
    assert info(r, "aff")["calls"] == len(orders)  # one batch a round
    assert orders[-1] == list(range(clients)), orders

"""`eddylearn bench database`: the database module against baselines measured in the same run.

* put/get throughput of tensors through the SmartRedis Python client, 4 KiB … 64 MiB, against
  plain Redis SET/GET of the same bytes (redis-py) on the same server;
* AI.MODELEXECUTE time of a small MLP on 32³ points against the same TorchScript forward pass
  in this process;
* model runs per second with 4 concurrent clients, THREADS_PER_QUEUE 1 and 2;
* PING latency while a ~100 MB model is stored (AI.MODELSTORE, three times under one key), against
  PING latency of the same server when idle, with the pinger and the storer in processes of
  their own, and the server's latency monitor beside it.
* requests per second of 8 clients sending 256-row requests, and of 2 clients sending
  16384-row requests, to the learned SGS network stored with BATCHSIZE = MINBATCHSIZE (requests
  merged, a batch waiting for every client's rows) against the same model stored without
  (batching_speedup_small, batching_speedup_large), and with BATCHSIZE alone beside it; the
  clients are the solver's native client in step, as ranks are (eddylearn-infer-bench CLIENTS),
  sending FLOAT features as the solver does to this model. The network is in the form the
  trainer stores (its layers fused in oneDNN where torch has it); the W x^T form it stored
  before is measured beside it, for comparison (the keys ending in _wxt), which doubles this
  part's time;
* PING latency (p50/p99/max) while another client reads the largest tensor a VALUES reply may
  hold (2^18 elements) or a 64 MiB tensor as BLOB, against PING latency on the idle server.
"""
from __future__ import annotations

import gc
import io
import json
import logging
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from . import database
from .bench import cpu_ticks, machine_info, steal_fraction

log = logging.getLogger(__name__)

DEFAULT_SIZES = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20]
POINTS = 32 ** 3
FEATURES = 6


def _client(address: str):
    os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
    os.environ.setdefault("SR_LOG_FILE", "/dev/null")
    # generous socket timeout: a 64 MiB transfer on a slow machine may exceed 250 ms
    os.environ.setdefault("SR_SOCKET_TIMEOUT", "20000")
    from smartredis import Client

    return Client(address=address, cluster=False)


def _rate(fn, nbytes: int, budget_s: float, min_reps: int = 3, max_reps: int = 2000) -> float:
    """Bytes per second of fn(): best of several timed batches inside a time budget."""
    fn()  # warm-up
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-6)
    reps = int(min(max_reps, max(min_reps, (budget_s / 3) / once)))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return nbytes / best


def bench_transfer(address: str, sizes: list[int], budget_s: float) -> list[dict]:
    import redis

    client = _client(address)
    host, port = address.split(":")
    r = redis.Redis(host=host, port=int(port), protocol=2)
    rows = []
    for n in sizes:
        a = np.random.default_rng(n).standard_normal(n // 4).astype(np.float32)
        raw = a.tobytes()
        put = _rate(lambda: client.put_tensor("bench_t", a), n, budget_s)
        get = _rate(lambda: client.get_tensor("bench_t"), n, budget_s)
        rset = _rate(lambda: r.set("bench_s", raw), n, budget_s)
        rget = _rate(lambda: r.get("bench_s"), n, budget_s)
        # the same tensor commands sent by redis-py: separates server cost from client cost
        tset = _rate(lambda: r.execute_command("AI.TENSORSET", "bench_r", "FLOAT", n // 4, "BLOB", raw), n, budget_s)
        tget = _rate(lambda: r.execute_command("AI.TENSORGET", "bench_r", "META", "BLOB"), n, budget_s)
        assert r.get("bench_s") == raw and client.get_tensor("bench_t").tobytes() == raw
        row = {"bytes": n, "put_MBps": put / 1e6, "set_MBps": rset / 1e6, "ratio_put_vs_set": put / rset,
               "get_MBps": get / 1e6, "redis_get_MBps": rget / 1e6, "ratio_get_vs_get": get / rget,
               "raw_tensorset_MBps": tset / 1e6, "ratio_raw_tensorset_vs_set": tset / rset,
               "raw_tensorget_MBps": tget / 1e6, "ratio_raw_tensorget_vs_get": tget / rget}
        log.info("%9d B  put %8.1f MB/s vs SET %8.1f MB/s (%.2fx)   get %8.1f MB/s vs GET %8.1f MB/s (%.2fx)",
                 n, row["put_MBps"], row["set_MBps"], row["ratio_put_vs_set"], row["get_MBps"],
                 row["redis_get_MBps"], row["ratio_get_vs_get"])
        rows.append(row)
    r.delete("bench_s", "bench_t", "bench_r")
    return rows


def _transfer_child(address: str, sizes: list[int], budget_s: float, tuned: bool, out) -> None:
    if tuned:
        database.tune_client_malloc()
    logging.basicConfig(level=logging.INFO)
    out.put(bench_transfer(address, sizes, budget_s))


def bench_transfer_in_child(address: str, sizes: list[int], budget_s: float, tuned: bool) -> list[dict]:
    """bench_transfer in a fresh process, so that the client's allocator state is clean and
    `tuned` (database.tune_client_malloc) applies to SmartRedis and redis-py alike."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_transfer_child, args=(address, sizes, budget_s, tuned, out))
    p.start()
    try:
        return out.get(timeout=1800)
    finally:
        p.join(60)


def _mlp_bytes() -> tuple[object, bytes]:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(FEATURES, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64),
                              torch.nn.Tanh(), torch.nn.Linear(64, FEATURES)).eval()
    traced = torch.jit.trace(net, torch.randn(8, FEATURES))
    buf = io.BytesIO()
    torch.jit.save(traced, buf)
    return traced, buf.getvalue()


def _median_time(fn, reps: int) -> float:
    for _ in range(3):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def bench_execute(address: str, reps: int) -> dict:
    import torch

    traced, blob = _mlp_bytes()
    x = np.random.default_rng(1).standard_normal((POINTS, FEATURES)).astype(np.float32)
    xt = torch.from_numpy(x)

    def inproc():
        with torch.inference_mode():
            traced(xt)

    client = _client(address)
    client.set_model("bench_mlp", blob, "TORCH", "CPU")
    client.put_tensor("bench_x", x)

    def run_db():
        client.run_model("bench_mlp", ["bench_x"], ["bench_y"])

    # Measured one after the other, not interleaved: interleaving makes the two processes'
    # OpenMP thread pools spin against each other on small machines.
    db = _median_time(run_db, reps)
    ip = _median_time(inproc, reps)
    with torch.inference_mode():
        ref = traced(xt).numpy()
    assert np.allclose(client.get_tensor("bench_y"), ref, atol=1e-5)
    res = {"points": POINTS, "features": FEATURES, "database_ms": db * 1e3, "inprocess_ms": ip * 1e3,
           "ratio_execute_vs_inprocess": db / ip, "torch_threads_inprocess": torch.get_num_threads()}
    log.info("AI.MODELEXECUTE %.2f ms vs in-process forward %.2f ms (%.2fx)", db * 1e3, ip * 1e3, db / ip)
    return res


def _concurrent_worker(address: str, runs: int, barrier, out) -> None:
    client = _client(address)
    key = f"bench_y_{os.getpid()}"
    client.run_model("bench_mlp", ["bench_x"], [key])
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(runs):
        client.run_model("bench_mlp", ["bench_x"], [key])
    out.put((t0, time.perf_counter()))


def bench_concurrency(threads: int, clients: int, runs: int) -> dict:
    server = database.LocalServer(threads)
    try:
        _, blob = _mlp_bytes()
        c = _client(server.address)
        c.set_model("bench_mlp", blob, "TORCH", "CPU")
        c.put_tensor("bench_x", np.random.default_rng(1).standard_normal((POINTS, FEATURES)).astype(np.float32))
        ctx = mp.get_context("spawn")
        barrier, out = ctx.Barrier(clients), ctx.Queue()
        procs = [ctx.Process(target=_concurrent_worker, args=(server.address, runs, barrier, out))
                 for _ in range(clients)]
        for p in procs:
            p.start()
        spans = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(60)
        wall = max(e for _, e in spans) - min(s for s, _ in spans)
        res = {"threads_per_queue": threads, "clients": clients, "runs": runs * clients,
               "runs_per_s": runs * clients / wall}
        log.info("THREADS_PER_QUEUE %d, %d clients: %.1f runs/s", threads, clients, res["runs_per_s"])
        return res
    finally:
        server.close()


def _sgs_model_bytes(fused: bool | None = None) -> bytes:
    """A learned SGS network of the trainer (SGSNet, hidden layers 64 64, GELU, initial
    weights: the weights do not change the cost) in its deployed form (DeployedSGS) as
    TorchScript bytes: fused=None is the form the trainer stores (the oneDNN fused layers
    where torch has oneDNN), False the W x^T form it stored before. The network is fixed here,
    not the trainer's default, so that the batching figures stay comparable from one change of
    the default to the next."""
    import torch

    from .consumers.trainer import SGSNet, scripted_bytes
    torch.manual_seed(0)
    return scripted_bytes(SGSNet((64, 64), activation="gelu"), fused=fused)


def torch_fuses() -> bool:
    """Whether the trainer's deployed form here is the fused one (torch has oneDNN)."""
    import torch
    return bool(torch.backends.mkldnn.is_available())


def _infer_rounds(address: str, model: str, clients: int, rows: int, count: int) -> dict:
    """eddylearn-infer-bench with `clients` connections in step: each round puts every client's
    (rows, 9) features (FLOAT, as the solver sends them to the deployed network), runs `model`
    and gets its (rows, 6) output (the solver's round trip: one AI.DAGEXECUTE of put, run and
    get), and waits for all of them. Times of one round, after 3 warm-up rounds."""
    from . import solver as _solver
    from .client_config import prefix
    exe = prefix() / "bin" / "eddylearn-infer-bench"
    env = _solver.child_env({"SSDB": address, "SR_DB_TYPE": "Standalone"})
    out = subprocess.run([str(exe), model, str(rows), str(count), "6", "pipelined", str(clients),
                          "FLOAT"],
                         capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"eddylearn-infer-bench failed: {out.stderr.strip()}")
    fields = dict(re.findall(r"(\w+)=\s*(\S+)", out.stdout))
    return {k: float(v) for k, v in fields.items() if k.endswith("_s")}


def _quartiles(xs: list) -> list:
    """First and third quartiles (the inclusive method: within the values' range)."""
    if len(xs) < 2:
        return [xs[0], xs[0]] if xs else []
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return [q[0], q[2]]


#: how long a batch waits for MINBATCHSIZE rows in the bench's MINBATCHSIZE configuration
BATCH_WAIT_MS = 10


def bench_batching(clients: int, rows: int, count: int, repeats: int = 9,
                   fused: bool | None = None) -> dict:
    """Requests per second of `clients` solver-like clients in step (the native client's
    one-command put/run/get, an AI.DAGEXECUTE, one process, so that the clients' own cost stays
    small), each running the learned SGS network on `rows` rows, THREADS_PER_QUEUE 1, with the
    model stored three ways: without batching; with BATCHSIZE clients*rows (the requests queued when the worker
    comes to the model are merged); and with MINBATCHSIZE clients*rows as well, MINBATCHTIMEOUT
    BATCH_WAIT_MS (a batch waits for every client's rows, or that long: the setting for
    clients that send in step, as a solver's ranks do). Each repetition measures the three one
    right after the other, `count` rounds each; a rate is clients / median round time, and a
    speedup is the median over the repetitions of batched / unbatched, with the quartiles of
    those paired ratios as its spread. fused: the network's deployed form (_sgs_model_bytes)."""
    import redis

    server = database.LocalServer(threads=1)
    try:
        blob = _sgs_model_bytes(fused)
        form = "fused (oneDNN)" if (torch_fuses() if fused is None else fused) else "W x^T"
        host, port = server.address.rsplit(":", 1)
        r = redis.Redis(host=host, port=int(port), socket_timeout=600)
        total = clients * rows
        models = {"unbatched": ("bench_unbatched", []),
                  "batched": ("bench_batched", ["BATCHSIZE", total]),
                  "minbatch": ("bench_minbatch", ["BATCHSIZE", total, "MINBATCHSIZE", total,
                                                  "MINBATCHTIMEOUT", BATCH_WAIT_MS])}
        for key, args in models.values():
            r.execute_command("AI.MODELSTORE", key, "TORCH", "CPU", *args, "BLOB", blob)
        for key, _ in models.values():  # warm-up: the first runs of a model are slower
            _infer_rounds(server.address, key, clients, rows, max(1, count // 5))
        rates = {name: [] for name in models}
        calls, forward_ms = {}, {}
        ticks = cpu_ticks()
        for _ in range(repeats):
            for name, (key, _) in models.items():
                r.execute_command("AI.INFO", key, "RESETSTAT")
                t = _infer_rounds(server.address, key, clients, rows, count)
                rates[name].append(clients / t["p50_s"])
                raw = r.execute_command("AI.INFO", key)
                st = dict(zip(raw[::2], raw[1::2]))
                calls.setdefault(name, []).append(st[b"calls"] / ((count + 3) * clients))
                forward_ms.setdefault(name, []).append(st[b"duration"] / max(st[b"calls"], 1) / 1e3)
        steal = steal_fraction(ticks, cpu_ticks())
        # each repetition measures all, one right after the other: the median of their ratios
        # is the figure least moved by other load on the machine
        pairs = {name: [b / u for u, b in zip(rates["unbatched"], rates[name])]
                 for name in ("batched", "minbatch")}
        med = {k: statistics.median(v) for k, v in rates.items()}
        res = {"clients": clients, "rows": rows, "rounds": count, "repeats": repeats,
               "model": "the learned SGS network (64, 64) as deployed, FLOAT (rows, 9) -> (rows, 6)",
               "form": form,
               "client": "eddylearn-infer-bench (native client, put/run/get as one AI.DAGEXECUTE, clients in step)",
               "minbatchtimeout_ms": BATCH_WAIT_MS,
               "requests_per_s_unbatched": med["unbatched"], "requests_per_s_batched": med["batched"],
               "requests_per_s_minbatch": med["minbatch"],
               "runs_unbatched": rates["unbatched"], "runs_batched": rates["batched"],
               "runs_minbatch": rates["minbatch"],
               "speedup_pairs": pairs["batched"], "speedup_batchsize_only": statistics.median(pairs["batched"]),
               "speedup_pairs_minbatch": pairs["minbatch"],
               # the spread of the median: first and third quartiles of the paired ratios
               "speedup_quartiles_batchsize_only": _quartiles(pairs["batched"]),
               "speedup_quartiles_minbatch": _quartiles(pairs["minbatch"]),
               "speedup_minbatch": statistics.median(pairs["minbatch"]),
               # forward calls per request (warm-up rounds included; 1 = nothing merged) and the
               # time of one forward call (AI.INFO duration / calls), medians of the repetitions
               "calls_per_request_batched": statistics.median(calls["batched"]),
               "calls_per_request_minbatch": statistics.median(calls["minbatch"]),
               "forward_ms_unbatched": statistics.median(forward_ms["unbatched"]),
               "forward_ms_batched": statistics.median(forward_ms["batched"]),
               "forward_ms_minbatch": statistics.median(forward_ms["minbatch"]),
               # the CPU time the hypervisor gave to other guests meanwhile (None: not counted)
               "host_steal_fraction": steal}
        # the figure of the target: the setting for clients in step (BATCHSIZE alone beside it)
        res["speedup"] = res["speedup_minbatch"]
        log.info("%d clients x %d rows: %.1f requests/s unbatched, %.1f with BATCHSIZE (%.2fx, "
                 "%.2f forward calls per request), %.1f with MINBATCHSIZE too (%.2fx, %.2f)",
                 clients, rows, med["unbatched"], med["batched"], res["speedup_batchsize_only"],
                 res["calls_per_request_batched"], med["minbatch"], res["speedup_minbatch"],
                 res["calls_per_request_minbatch"])
        return res
    finally:
        server.close()


def _large_model_bytes(mb: int) -> bytes:
    import torch

    n = int((mb * (1 << 20) / 4) ** 0.5)
    net = torch.nn.Linear(n, n, bias=False).eval()
    buf = io.BytesIO()
    torch.jit.save(torch.jit.trace(net, torch.randn(1, n)), buf)
    return buf.getvalue()


def _store_pinger(address: str, ready, stop, out) -> None:
    """PINGs back to back until `stop`, in a process of its own; puts (start, end) monotonic
    times of each round trip."""
    import redis

    host, port = address.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), protocol=2, socket_timeout=600)
    r.ping()
    # the pinger's own pauses are not the server's: Python's cyclic garbage collector, walking
    # the growing list of round trips, took 27 ms in one PING's round trip
    gc.disable()
    ready.wait()
    rows = []
    while not stop.is_set():
        t0 = time.monotonic()
        r.ping()
        rows.append((t0, time.monotonic()))
    out.put(rows)


def _storer(address: str, blob_path: str, stores: int, idle_s: float, ready, out) -> None:
    """Stores the model in blob_path `stores` times under one key (a new key, then over the
    stored model), idle_s apart and after idle_s of idle; puts (start, end, reply) of each."""
    import redis

    host, port = address.rsplit(":", 1)
    blob = Path(blob_path).read_bytes()
    r = redis.Redis(host=host, port=int(port), protocol=2, socket_timeout=600)
    r.delete("bench_large")
    ready.wait()
    rows = []
    for _ in range(stores):
        time.sleep(idle_s)
        t0 = time.monotonic()
        reply = r.execute_command("AI.MODELSTORE", "bench_large", "TORCH", "CPU", "BLOB", blob)
        rows.append((t0, time.monotonic(), reply))
    time.sleep(idle_s)
    out.put(rows)


def _result_of(proc, queue, timeout: float):
    """What `proc` puts on `queue`; an error as soon as it ends without, or after timeout."""
    import queue as queue_mod

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=1.0)
        except queue_mod.Empty:
            if not proc.is_alive():
                raise RuntimeError(f"bench process {proc.name} ended (status {proc.exitcode}) without a result")
    raise RuntimeError(f"bench process {proc.name} gave no result within {timeout:.0f} s")


def bench_ping_during_store(address: str, mb: int = 100, stores: int = 3, idle_s: float = 1.0) -> dict:
    """PING latency while another client stores a model of `mb` MB, against idle PINGs of the
    same server in the same run. The pinger and the storer are processes of their own (no
    shared interpreter lock, and this process stays idle). The model is stored `stores` times
    under one key: first a new key, then over the stored model (as a trainer publishing its
    network does). Redis's latency monitor (threshold 1 ms) gives the server's own view: the
    main thread's time in commands and waiting for the module lock above 1 ms."""
    import tempfile

    import redis

    host, port = address.rsplit(":", 1)
    conn = redis.Redis(host=host, port=int(port), protocol=2, socket_timeout=600)
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="eddylearn-bench-") as tmp:
        blob_path = Path(tmp) / "model.pt"
        blob_path.write_bytes(_large_model_bytes(mb))
        model_mb = blob_path.stat().st_size / 1e6
        conn.config_set("latency-monitor-threshold", 1)
        conn.execute_command("LATENCY", "RESET")
        load_before = os.getloadavg()
        ticks = cpu_ticks()
        ready, stop, pings_q, stores_q = ctx.Barrier(2), ctx.Event(), ctx.Queue(), ctx.Queue()
        pinger = ctx.Process(target=_store_pinger, args=(address, ready, stop, pings_q))
        storer = ctx.Process(target=_storer, args=(address, str(blob_path), stores, idle_s, ready, stores_q))
        pinger.start()
        storer.start()
        try:
            windows = _result_of(storer, stores_q, 600)
            stop.set()
            pings = _result_of(pinger, pings_q, 120)
        finally:
            stop.set()
            for p in (pinger, storer):
                p.join(120)
                if p.is_alive():
                    p.kill()
        load_after = os.getloadavg()
        steal = steal_fraction(ticks, cpu_ticks())
        events = {e[0].decode() if isinstance(e[0], bytes) else e[0]: int(e[3])
                  for e in conn.execute_command("LATENCY", "LATEST")}
        conn.config_set("latency-monitor-threshold", 0)
        conn.delete("bench_large")
    per_store, busy = [], []
    for t0, t1, reply in windows:
        if reply not in (b"OK", "OK"):
            raise RuntimeError(f"AI.MODELSTORE of the {model_mb:.0f} MB model replied {reply!r}")
        ms = [(b - a) * 1e3 for a, b in pings if b >= t0 and a <= t1]
        busy += ms
        per_store.append({"store_s": t1 - t0, "pings": len(ms), "ping_max_ms": max(ms),
                          "ping_median_ms": statistics.median(ms)})
    idle = [(b - a) * 1e3 for a, b in pings if not any(b >= t0 and a <= t1 for t0, t1, _ in windows)]
    busy.sort()
    res = {"model_MB": model_mb, "stores": per_store, "store_s": statistics.median(s["store_s"] for s in per_store),
           "pings_during_store": len(busy), "ping_max_ms_during_store": busy[-1],
           "ping_median_ms_during_store": statistics.median(busy),
           "ping_p99_ms_during_store": busy[min(len(busy) - 1, int(len(busy) * 0.99))],
           "pings_idle": len(idle), "ping_max_ms_idle": max(idle), "ping_median_ms_idle": statistics.median(idle),
           "server_latency_max_ms": events, "loadavg_before": list(load_before), "loadavg_after": list(load_after),
           "host_steal_fraction": steal}
    log.info("PING during %d stores of a %.0f MB model: max %.2f ms (per store %s), median %.3f ms over %d PINGs;"
             " idle: max %.2f ms, median %.3f ms; server latency events %s; load average %.1f",
             stores, model_mb, res["ping_max_ms_during_store"], [round(s["ping_max_ms"], 2) for s in per_store],
             res["ping_median_ms_during_store"], len(busy), res["ping_max_ms_idle"], res["ping_median_ms_idle"],
             events, load_before[0])
    return res


def _pinger(address: str, seconds: float, ready, out) -> None:
    import redis

    host, port = address.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), protocol=2)
    r.ping()
    gc.disable()  # as in _store_pinger: no collector pauses inside a round trip
    ready.wait()
    lat = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        r.ping()
        lat.append(time.perf_counter() - t0)
        time.sleep(0.001)
    out.put(lat)


def _loader(address: str, command: list, ready, stop) -> None:
    import redis

    host, port = address.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), protocol=2, socket_timeout=120)
    ready.wait()
    while not stop.is_set():
        r.execute_command(*command)


def bench_ping_latency(address: str, seconds: float = 3.0) -> list[dict]:
    """PING round trips of one client, every 1 ms, while another client repeats a command."""
    import redis

    host, port = address.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), protocol=2)
    r.execute_command("AI.TENSORSET", "bench_values", "FLOAT", 1 << 18)
    r.execute_command("AI.TENSORSET", "bench_blob", "FLOAT", 16 << 20)
    scenarios = [("idle server", None),
                 ("AI.TENSORGET VALUES, 2^18 FLOAT elements", ["AI.TENSORGET", "bench_values", "VALUES"]),
                 ("AI.TENSORGET BLOB, 64 MiB", ["AI.TENSORGET", "bench_blob", "BLOB"])]
    ctx = mp.get_context("spawn")
    rows = []
    for name, command in scenarios:
        ready, stop, out = ctx.Barrier(2 if command else 1), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_pinger, args=(address, seconds, ready, out))]
        if command:
            procs.append(ctx.Process(target=_loader, args=(address, command, ready, stop)))
        for p in procs:
            p.start()
        lat = sorted(out.get(timeout=seconds + 120))
        stop.set()
        for p in procs:
            p.join(120)
        ms = [x * 1e3 for x in lat]
        row = {"load": name, "pings": len(ms), "p50_ms": ms[len(ms) // 2],
               "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))], "max_ms": ms[-1]}
        log.info("PING during %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms", name, row["p50_ms"], row["p99_ms"],
                 row["max_ms"])
        rows.append(row)
    r.delete("bench_values", "bench_blob")
    return rows


PARTS = ("transfer", "execute", "ping", "concurrency", "batching")


def bench_database(json_path: str | Path | None = None, sizes: list[int] | None = None, budget_s: float = 1.0,
                   exec_reps: int = 30, clients: int = 4, concurrent_runs: int = 25,
                   parts: tuple[str, ...] = PARTS) -> dict:
    """Runs the database benchmark (the chosen `parts`); writes JSON to `json_path` when given;
    returns the results."""
    sizes = sizes or DEFAULT_SIZES
    result = {"machine": machine_info(), "module": str(database.module_path())}
    server = database.LocalServer(threads=1)
    try:
        if "transfer" in parts:
            log.info("transfer, client with glibc malloc defaults")
            result["transfer"] = bench_transfer_in_child(server.address, sizes, budget_s, tuned=False)
            log.info("transfer, client after eddylearn.database.tune_client_malloc()")
            result["transfer_client_malloc_tuned"] = bench_transfer_in_child(server.address, sizes, budget_s, tuned=True)
        if "execute" in parts:
            result["execute"] = bench_execute(server.address, exec_reps)
        if "ping" in parts:
            result["ping_during_store"] = bench_ping_during_store(server.address)
            result["ping_ms_during_modelstore"] = result["ping_during_store"]["ping_max_ms_during_store"]
            result["ping_latency"] = bench_ping_latency(server.address)
    finally:
        server.close()
    if "execute" in result:
        result["ratio_execute_vs_inprocess"] = result["execute"]["ratio_execute_vs_inprocess"]
    if "concurrency" in parts:
        result["concurrency"] = [bench_concurrency(t, clients, concurrent_runs) for t in (1, 2)]
    if "batching" in parts:
        # the form the trainer stores (the targets' keys), then the W x^T form it stored before
        result["batching_small"] = bench_batching(clients=8, rows=256, count=200)
        result["batching_large"] = bench_batching(clients=2, rows=16384, count=20)
        result["batching_speedup_small"] = result["batching_small"]["speedup"]
        result["batching_speedup_large"] = result["batching_large"]["speedup"]
        if torch_fuses():
            result["batching_small_wxt"] = bench_batching(clients=8, rows=256, count=200, fused=False)
            result["batching_large_wxt"] = bench_batching(clients=2, rows=16384, count=20, fused=False)
            result["batching_speedup_small_wxt"] = result["batching_small_wxt"]["speedup"]
            result["batching_speedup_large_wxt"] = result["batching_large_wxt"]["speedup"]
    result["targets"] = {"ratio_put_vs_set": ">= 0.9", "ratio_get_vs_get": ">= 0.9",
                         "ratio_execute_vs_inprocess": "<= 1.2", "ping_ms_during_modelstore": "<= 10",
                         "batching_speedup_small": ">= 2", "batching_speedup_large": ">= 1.0"}
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1))
    return result


def report(res: dict) -> str:
    """Human-readable table: each figure next to its baseline."""
    m = res["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores"]
    if "transfer" in res:
        lines += _report_transfer(res)
    if "execute" in res:
        e = res["execute"]
        lines += ["", f"MLP on {e['points']} points: AI.MODELEXECUTE {e['database_ms']:.2f} ms vs in-process "
                      f"{e['inprocess_ms']:.2f} ms -> {e['ratio_execute_vs_inprocess']:.2f}x (target <= 1.2)"]
    for c in res.get("concurrency", []):
        lines.append(f"THREADS_PER_QUEUE {c['threads_per_queue']}, {c['clients']} clients: {c['runs_per_s']:.1f} runs/s")
    for key in ("batching_small", "batching_large", "batching_small_wxt", "batching_large_wxt"):
        if key in res:
            b = res[key]
            target = ("for comparison" if key.endswith("_wxt")
                      else "target >= 2" if key == "batching_small" else "target >= 1.0")
            n = b['clients'] * b['rows']
            lines.append(f"{b['clients']} clients x {b['rows']} rows, network form {b.get('form', '?')}: "
                         f"{b['requests_per_s_unbatched']:.1f} requests/s "
                         f"unbatched ({b['forward_ms_unbatched']:.2f} ms per forward call); speedup {b['speedup']:.2f}x "
                         f"({target}) with MINBATCHSIZE{_steal_note(b)}:")
            for name, label in (("batched", f"BATCHSIZE {n}"),
                                ("minbatch", f"BATCHSIZE = MINBATCHSIZE {n}, MINBATCHTIMEOUT {b['minbatchtimeout_ms']} ms")):
                ratio = b["speedup_batchsize_only"] if name == "batched" else b["speedup_minbatch"]
                pairs = b["speedup_pairs"] if name == "batched" else b["speedup_pairs_minbatch"]
                q = b.get("speedup_quartiles_" + ("batchsize_only" if name == "batched" else "minbatch"))
                spread = f", quartiles {q[0]:.2f}-{q[1]:.2f}" if q else ""
                lines.append(f"    {label:<48}: {b['requests_per_s_' + name]:.1f} requests/s, median of paired ratios "
                             f"{ratio:.2f}x{spread} (single ratios {', '.join(f'{p:.2f}' for p in pairs)}); "
                             f"{b['calls_per_request_' + name]:.2f} forward calls per request, "
                             f"{b['forward_ms_' + name]:.2f} ms per call")
    return "\n".join(lines + _report_ping(res))


def _steal_note(b: dict) -> str:
    """", the host took N % of the CPU time" where the measurement recorded it."""
    s = b.get("host_steal_fraction")
    return "" if s is None else f"; the host took {100 * s:.1f} % of the CPU time (steal)"


def _report_transfer(res: dict) -> list[str]:
    lines = ["",
             "SmartRedis put_tensor/get_tensor vs redis-py SET/GET of the same bytes (target >= 0.9);",
             "raw = AI.TENSORSET/AI.TENSORGET sent by redis-py (the server's share of the cost)", "",
             f"{'size':>10} {'put MB/s':>9} {'SET MB/s':>9} {'put/SET':>8} {'raw/SET':>8}"
             f" {'get MB/s':>9} {'GET MB/s':>9} {'get/GET':>8} {'raw/GET':>8}"]
    for title, key in (("client with glibc malloc defaults", "transfer"),
                       ("client after eddylearn.database.tune_client_malloc()", "transfer_client_malloc_tuned")):
        lines.append(f"-- {title}")
        for row in res[key]:
            lines.append(f"{row['bytes']:>10} {row['put_MBps']:>9.1f} {row['set_MBps']:>9.1f} {row['ratio_put_vs_set']:>8.2f}"
                         f" {row['ratio_raw_tensorset_vs_set']:>8.2f} {row['get_MBps']:>9.1f} {row['redis_get_MBps']:>9.1f}"
                         f" {row['ratio_get_vs_get']:>8.2f} {row['ratio_raw_tensorget_vs_get']:>8.2f}")
    return lines


def _report_ping(res: dict) -> list[str]:
    lines = []
    if "ping_during_store" in res:
        p = res["ping_during_store"]
        stores = ", ".join(f"{s['ping_max_ms']:.2f}" for s in p["stores"])
        events = ", ".join(f"{k} {v} ms" for k, v in sorted(p["server_latency_max_ms"].items())) or "none above 1 ms"
        lines += [f"PING while a {p['model_MB']:.0f} MB model is stored {len(p['stores'])} times (pinger and storer"
                  f" in processes of their own; median store {p['store_s']:.2f} s; load average {p['loadavg_before'][0]:.1f}"
                  f"{_steal_note(p)}):",
                  f"  during the stores: max {p['ping_max_ms_during_store']:.2f} ms (per store: {stores}),"
                  f" p99 {p['ping_p99_ms_during_store']:.2f} ms, median {p['ping_median_ms_during_store']:.3f} ms,"
                  f" {p['pings_during_store']} PINGs",
                  f"  idle, same run: max {p['ping_max_ms_idle']:.2f} ms, median {p['ping_median_ms_idle']:.3f} ms,"
                  f" {p['pings_idle']} PINGs",
                  f"  server's latency monitor (worst, threshold 1 ms): {events}"]
    if res.get("ping_latency"):
        lines += ["", "PING latency while another client repeats a command (baseline: idle server)",
                  f"{'load':<42} {'pings':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"]
        for row in res["ping_latency"]:
            lines.append(f"{row['load']:<42} {row['pings']:>6} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}"
                         f" {row['max_ms']:>8.2f}")
    return lines


def _cmd(args) -> int:
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    parts = tuple(args.parts.split(",")) if args.parts else PARTS
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"bench database: unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    res = bench_database(args.json, sizes=sizes, budget_s=args.budget, parts=parts)
    print(report(res))
    if args.json:
        print(f"\nresults: {args.json}")
    return 0


def register_bench(subparsers):
    """Adds `database` to the `bench` subcommand's subparsers."""
    p = subparsers.add_parser("database", help="put/get throughput vs Redis SET/GET, model execution vs in-process")
    p.add_argument("--json", help="write the results to this file")
    p.add_argument("--sizes", help="comma-separated tensor sizes in bytes (default 4 KiB … 64 MiB)")
    p.add_argument("--budget", type=float, default=1.0, help="seconds per throughput measurement (default 1)")
    p.add_argument("--parts", help=f"comma-separated parts to run (default all: {','.join(PARTS)})")
    p.set_defaults(func=_cmd)
    return p

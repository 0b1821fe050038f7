"""`bench database --parts ping` in miniature (no timing asserted): PINGs from a process of
their own while another stores a model, split into the stores' windows and the idle ones, and a
stall of the server's own shows up in them."""
from __future__ import annotations

import threading
import time

import redis


def test_ping_during_store_splits_the_pings_by_window_and_sees_a_server_stall(server, r):
    from eddylearn.bench_database import bench_ping_during_store

    done = threading.Event()

    def pause_now_and_then():
        # every 0.8 s, the server answers nobody for 300 ms
        conn = redis.Redis(host="127.0.0.1", port=server.port)
        while not done.wait(0.5):
            conn.execute_command("CLIENT", "PAUSE", 300, "ALL")
        conn.close()

    t = threading.Thread(target=pause_now_and_then)
    t.start()
    try:
        res = bench_ping_during_store(server.address, mb=1, stores=2, idle_s=1.0)
    finally:
        done.set()
        t.join()
    assert len(res["stores"]) == 2
    assert all(s["pings"] > 0 and s["ping_max_ms"] >= s["ping_median_ms"] > 0 for s in res["stores"])
    assert res["pings_idle"] > 0 and res["pings_during_store"] == sum(s["pings"] for s in res["stores"])
    assert res["ping_max_ms_during_store"] >= res["ping_p99_ms_during_store"] >= res["ping_median_ms_during_store"]
    # the pauses reached the pinger: PINGs waited for them
    assert max(res["ping_max_ms_idle"], res["ping_max_ms_during_store"]) >= 200, res
    assert r.exists("bench_large") == 0
    s = res["host_steal_fraction"]  # what the host took meanwhile (None where not counted)
    assert s is None or 0.0 <= s <= 1.0

"""Client processes for the batching tests: each runs one AI.MODELEXECUTE with its own input
through the genuine SmartRedis client (or redis-py, for TIMEOUT) once all are ready, and
reports what it got back."""
from __future__ import annotations

import os


def smartredis_run(address: str, model: str, tag: str, x, barrier, out) -> None:
    os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
    os.environ.setdefault("SR_LOG_FILE", "/dev/null")
    # a request may wait for a batch longer than SmartRedis's default socket timeout (250 ms),
    # after which the client would resend it (docs/database.md, "Batching")
    os.environ.setdefault("SR_SOCKET_TIMEOUT", "20000")
    from smartredis import Client

    c = Client(address=address, cluster=False)
    c.put_tensor(f"x_{tag}", x)
    barrier.wait()
    try:
        c.run_model(model, [f"x_{tag}"], [f"y_{tag}"])
        out.put((tag, "ok", c.get_tensor(f"y_{tag}")))
    except Exception as e:  # the error text is what the test checks
        out.put((tag, "error", str(e)))

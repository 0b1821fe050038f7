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


def dag_run(address: str, model: str, tag: str, x, barrier, out) -> None:
    """The same request as one AI.DAGEXECUTE (redis-py): the input, the run and the answer as
    the ops of one DAG, whose tensors stay its own."""
    import numpy as np
    import redis

    host, port = address.rsplit(":", 1)
    r = redis.Redis(host=host, port=int(port), protocol=2, socket_timeout=60)
    dtype = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE"}[x.dtype]
    barrier.wait()
    try:
        reply = r.execute_command(
            "AI.DAGEXECUTE", "ROUTING", model, "TIMEOUT", 20000,
            "|>", "AI.TENSORSET", "x", dtype, *x.shape, "BLOB", x.tobytes(),
            "|>", "AI.MODELEXECUTE", model, "INPUTS", 1, "x", "OUTPUTS", 1, "y",
            "|>", "AI.TENSORGET", "y", "META", "BLOB")
        if not isinstance(reply, list):
            out.put((tag, "error", repr(reply)))
            return
        errors = [str(e) for e in reply if isinstance(e, Exception)]
        if errors:
            out.put((tag, "error", errors[0]))
            return
        meta = dict(zip(reply[2][::2], reply[2][1::2]))
        y = np.frombuffer(meta[b"blob"], x.dtype).reshape(meta[b"shape"])
        out.put((tag, "ok", y))
    except Exception as e:  # the error text is what the test checks
        out.put((tag, "error", str(e)))

"""Minimal Python producer with the genuine SmartRedis client: the same snapshots as the
Fortran and C producers (a Fortran-ordered field is sent as its C-ordered equivalent).

run: SSDB=127.0.0.1:6379 SR_DB_TYPE=Standalone python producer.py [NSTEPS]
"""
import sys

import numpy as np
from smartredis import Client, Dataset


def main(nsteps: int = 3) -> None:
    client = Client(None)  # SSDB / SR_DB_TYPE from the environment
    i = np.arange(1, 9)[:, None]
    j = np.arange(1, 5)[None, :]
    for step in range(1, nsteps + 1):
        ds = Dataset(f"snapshot.{step}.0")
        ds.add_tensor("u", np.ascontiguousarray(np.sin(0.1 * (i + 10 * j + step))))  # shape (8, 4)
        ds.add_meta_scalar("step", np.int32(step))
        ds.add_meta_scalar("time", np.float64(0.01 * step))
        ds.add_meta_string("producer", "python")
        client.put_dataset(ds)
        client.append_to_list("snapshots", ds)
    print(f"python producer: {nsteps} snapshots sent")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

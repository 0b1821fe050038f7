"""Minimal consumer: waits until the aggregation list "snapshots" holds N entries, then reads
every snapshot with SmartRedis and checks it against the field all three producers write.

run: SSDB=127.0.0.1:6379 SR_DB_TYPE=Standalone python consumer.py N
"""
import sys

import numpy as np
from smartredis import Client


def main(n: int) -> int:
    client = Client(None)
    if not client.poll_list_length("snapshots", n, 100, 600):
        print(f"consumer: the list has {client.get_list_length('snapshots')} entries, waited for {n}")
        return 1
    i = np.arange(1, 9)[:, None]
    j = np.arange(1, 5)[None, :]
    for ds in client.get_datasets_from_list("snapshots"):
        step = int(ds.get_meta_scalars("step")[0])
        u = ds.get_tensor("u")
        err = np.abs(u - np.sin(0.1 * (i + 10 * j + step))).max()
        who = ds.get_meta_strings("producer")[0]
        print(f"{ds.get_name():16s} from {who:8s} step {step} time {ds.get_meta_scalars('time')[0]:.2f} "
              f"u{u.shape} max error {err:.1e}")
        if err > 1e-12:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))

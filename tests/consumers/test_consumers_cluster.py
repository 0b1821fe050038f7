"""The reader, retention and a consumer on a 3-shard cluster (SR_DB_TYPE=Clustered), as SmartSim
launches them against a sharded Orchestrator."""
from __future__ import annotations

import json

import numpy as np

from eddylearn import snapshots as sn
from eddylearn.consumers import compressor

from _consumer_data import publish


def test_reader_retention_and_compressor_on_a_cluster(cluster, solver_snapshots, monkeypatch,
                                                      tmp_path):
    """Datasets spread over the shards; retention trims atomically on the list's slot; the
    reader counts the 4 trimmed entries it never saw and assembles the rest exactly."""
    monkeypatch.setenv("SSDB", ",".join(s.address for s in cluster))
    monkeypatch.setenv("SR_DB_TYPE", "Clustered")
    for var in ("SSKEYIN", "SSKEYOUT"):
        monkeypatch.delenv(var, raising=False)
    client = sn.make_client("tests-cluster")
    raw = sn.raw_connection()
    raw.flushall()
    snaps = solver_snapshots[:4]
    publish(client, snaps, prefix="c.", nranks=2)
    assert sn.apply_retention(client, "c.snapshots", 2, unit="steps", raw=raw) == 4
    assert sn.trimmed_count("c.snapshots", raw=raw) == 4
    assert not client.dataset_exists(f"c.snapshot.{snaps[0].step}.0")
    reader = sn.SnapshotReader(client, "c.", raw=raw)
    got = reader.poll()
    assert [s.step for s in got] == [snaps[2].step, snaps[3].step]
    assert reader.stats.missed == 4
    assert np.array_equal(got[1]["u"], snaps[3].fields["u"])
    sn.request_stop(client, "c.")
    summary = compressor.run(tmp_path, "c.", rank=2, poll_interval=0.05)   # clients from env
    assert summary["stop_reason"] == "stop request" and summary["snapshots"] == 2
    assert json.loads((tmp_path / "compressor.json").read_text())["snapshots"] == 2

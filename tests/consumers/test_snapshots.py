"""Reading the snapshot list: assembly, incremental cursor, retention, missed entries, stop flag."""
from __future__ import annotations

import numpy as np
import pytest

from eddylearn import snapshots as sn

from _consumer_data import publish


def test_assembly_equals_the_solver_fields(client, r, solver_snapshots):
    """Two z-slab blocks per step put by SmartRedis reassemble to the solver's fields exactly."""
    snaps = solver_snapshots[:2]
    publish(client, snaps, nranks=2)
    got = sn.SnapshotReader(client, raw=r).poll()
    assert [s.step for s in got] == [s.step for s in snaps]
    for s, ref in zip(got, snaps):
        assert s.n == (32, 32, 32) and s.nranks == 2 and s.time == ref.time
        assert np.allclose(s.dx, ref.dx, rtol=0, atol=0)
        for f in ("u", "v", "w", "p"):
            assert np.array_equal(s[f], ref.fields[f]), f
        assert s.kinetic_energy() == pytest.approx(ref.diag["energy"], rel=1e-12)


def test_velocity_only_and_four_ranks_with_prefix(client, r, solver_snapshots):
    """Snapshots without p, 4 ranks, run prefix 'run7.': fields equal, p absent."""
    snap = solver_snapshots[1]
    publish(client, [snap], prefix="run7.", nranks=4, fields=("u", "v", "w"))
    assert sn.SnapshotReader(client, raw=r).poll() == []   # other prefix: nothing
    got = sn.SnapshotReader(client, prefix="run7.", raw=r).poll()
    assert len(got) == 1 and "p" not in got[0].fields
    assert np.array_equal(got[0]["w"], snap.fields["w"])


def test_cursor_is_incremental_and_ranks_may_lag(client, r, solver_snapshots):
    """Each poll returns only new complete steps; rank 1 of a step may come after rank 0 of the
    next one."""
    snaps = solver_snapshots[:3]
    reader = sn.SnapshotReader(client, raw=r)
    publish(client, snaps, order=[(0, 0), (1, 0), (0, 1)])
    assert [s.step for s in reader.poll()] == [snaps[0].step]
    assert reader.pending_steps == [snaps[1].step]
    publish(client, snaps, order=[(2, 1), (2, 0), (1, 1)])
    assert reader.available() == 3
    assert [s.step for s in reader.poll()] == [snaps[1].step, snaps[2].step]
    assert reader.poll() == [] and reader.available() == 0
    assert reader.cursor == 6 and reader.stats.steps == 3 and reader.stats.missed == 0
    other = sn.SnapshotReader(client, raw=r)   # every consumer has its own cursor
    assert len(other.poll()) == 3
    small = sn.SnapshotReader(client, raw=r, batch=2)   # a backlog is read a step at a time
    assert [[s.step for s in small.poll()] for _ in range(3)] == [
        [snaps[0].step], [snaps[1].step, snaps[2].step], []]


def test_retention_removes_exactly_the_older_entries(client, r, solver_snapshots):
    """keep_last=3 of 8 entries: the first 5 entries and their datasets go, the count is 5."""
    names = publish(client, solver_snapshots[:4], nranks=2)
    assert sn.apply_retention(client, "snapshots", 3, raw=r) == 5
    left = [sn.dataset_name(e) for e in r.lrange("snapshots", 0, -1)]
    assert left == names[5:]
    for name in names[:5]:
        assert not client.dataset_exists(name)
    for name in names[5:]:
        assert client.dataset_exists(name)
    assert sn.trimmed_count("snapshots", raw=r) == 5
    assert client.get_tensor("snapshots.trimmed").tolist() == [5]   # mirror for SmartRedis
    assert sn.apply_retention(client, "snapshots", 3, raw=r) == 0
    assert sn.apply_retention(client, "snapshots", 0, raw=r) == 3
    assert r.llen("snapshots") == 0 and sn.trimmed_count("snapshots", raw=r) == 8


def test_retention_by_steps_keeps_whole_steps(client, r, solver_snapshots):
    """unit='steps', keep 2 of 4 steps (2 ranks each): 4 entries removed, 2 steps left whole."""
    snaps = solver_snapshots[:4]
    publish(client, snaps, nranks=2)
    assert sn.apply_retention(client, "snapshots", 2, unit="steps", raw=r) == 4
    got = sn.SnapshotReader(client, raw=r).poll()
    assert [s.step for s in got] == [s.step for s in snaps[2:]]


def test_retention_bad_arguments(client, r):
    with pytest.raises(ValueError, match="keep_last"):
        sn.apply_retention(client, "snapshots", -1, raw=r)
    with pytest.raises(ValueError, match="unit"):
        sn.apply_retention(client, "snapshots", 1, unit="bytes", raw=r)


def test_reader_counts_entries_trimmed_before_it_read_them(client, r, solver_snapshots):
    """A reader that read 1 step, then retention keeps only the last 2 of 8 entries: the 4
    unread removed entries are counted missed, the last step is still assembled."""
    snaps = solver_snapshots[:4]
    publish(client, snaps[:1])
    reader = sn.SnapshotReader(client, raw=r)
    assert len(reader.poll()) == 1
    publish(client, snaps[1:])
    assert sn.apply_retention(client, "snapshots", 2, raw=r) == 6
    got = reader.poll()
    assert [s.step for s in got] == [snaps[3].step]
    assert reader.stats.missed == 4 and reader.cursor == 8


def test_deleted_dataset_is_counted_not_fatal(client, r, solver_snapshots):
    """A listed dataset deleted behind the reader's back: counted missed, step incomplete at the
    end, the other steps still come."""
    names = publish(client, solver_snapshots[:3])
    client.delete_dataset(names[2])           # rank 0 of the second step
    reader = sn.SnapshotReader(client, raw=r)
    got = reader.poll()
    assert [s.step for s in got] == [solver_snapshots[0].step, solver_snapshots[2].step]
    stats = reader.finish()
    assert stats.missed == 1 and stats.incomplete == 1 and stats.steps == 2


def test_contract_violation_is_counted_bad(client, r, solver_snapshots):
    """A dataset without 'offset' metadata, and a list entry that names no dataset: bad/missed."""
    from smartredis import Dataset

    snap = solver_snapshots[0]
    ds = Dataset("snapshot.99.0")
    ds.add_tensor("u", np.zeros((2, 2, 2)))
    ds.add_meta_scalar("step", np.int64(99))
    client.put_dataset(ds)
    client.append_to_list("snapshots", ds)
    r.rpush("snapshots", "not-a-dataset")
    publish(client, [snap], nranks=1)
    reader = sn.SnapshotReader(client, raw=r)
    got = reader.poll()
    assert [s.step for s in got] == [snap.step]
    assert reader.stats.bad == 2 and reader.stats.steps == 1


def test_blocks_that_do_not_tile_the_grid_are_rejected(solver_snapshots):
    snap = solver_snapshots[0]

    class DS:  # the calls block_from_dataset makes, on a SmartRedis Dataset
        def __init__(self, rank, k0, nranks=2):
            self.meta = {"step": [1], "time": [0.0], "rank": [rank], "nranks": [nranks],
                         "n": [32, 32, 32], "offset": [0, 0, k0], "dx": list(snap.dx)}
            self.t = {f: snap.fields[f][:, :, :16] for f in ("u", "v", "w")}

        def get_meta_scalars(self, k):
            return np.array(self.meta[k])

        def get_tensor_names(self):
            return list(self.t)

        def get_tensor(self, k):
            return self.t[k]

    blocks = [sn.block_from_dataset(DS(0, 0)), sn.block_from_dataset(DS(1, 8))]
    with pytest.raises(sn.SnapshotError, match="do not tile"):
        sn.assemble(blocks)
    overlap = [sn.block_from_dataset(DS(i, k0, 3)) for i, k0 in enumerate((0, 16, 8))]
    with pytest.raises(sn.SnapshotError, match="do not tile"):
        sn.assemble(overlap)
    with pytest.raises(sn.SnapshotError, match="outside grid"):
        sn.block_from_dataset(DS(1, 20))


def test_dataset_name_of_list_entries():
    assert sn.dataset_name("{snapshot.12.0}") == "snapshot.12.0"
    assert sn.dataset_name(b"p_out.{run1.snapshot.12.1}") == "run1.snapshot.12.1"
    assert sn.step_of("run1.snapshot.12.1") == 12
    with pytest.raises(sn.SnapshotError):
        sn.dataset_name("snapshot.12.0")


def test_stop_flag(client, r):
    assert not sn.stop_requested(client, "run1.")
    sn.request_stop(client, "run1.")
    assert sn.stop_requested(client, "run1.")
    assert not sn.stop_requested(client, "")
    client.put_tensor("control.stop", np.array([0], dtype=np.int32))
    assert not sn.stop_requested(client, "")


def test_list_cursor_gives_absolute_indices_across_trims(client, r):
    """A list of sample datasets (the trainer's sgs_samples): indices stay the appended-entry
    numbers when retention trims the head; a dataset deleted behind the cursor gives None."""
    from smartredis import Dataset

    def put(i):
        ds = Dataset(f"sgs.{i}.0")
        ds.add_tensor("features", np.full((3, 9), float(i)))
        client.put_dataset(ds)
        client.append_to_list("sgs_samples", ds)

    for i in range(5):
        put(i)
    cur = sn.ListCursor(client, "sgs_samples", raw=r, batch=2)
    assert [(i, n) for i, n, _ in cur.read()] == [(0, "sgs.0.0"), (1, "sgs.1.0")]
    assert sn.apply_retention(client, "sgs_samples", 2, raw=r) == 3
    for i in range(5, 7):
        put(i)
    client.delete_dataset("sgs.5.0")
    got = cur.read(10)
    assert [i for i, _, _ in got] == [3, 4, 5, 6]
    assert [ds is None for _, _, ds in got] == [False, False, True, False]
    assert got[3][2].get_tensor("features")[0, 0] == 6.0
    assert cur.missed == 2 and cur.cursor == 7 and cur.available() == 0


def test_retention_waits_for_a_late_reader_up_to_its_lag_bound(client, r):
    """A registered reader that has read nothing yet: retention removes nothing it has not
    passed; past the lag bound entries go anyway and are counted as dropped for it."""
    from smartredis import Dataset

    def put(i):
        ds = Dataset(f"sgs.{i}.0")
        ds.add_tensor("features", np.full((3, 9), float(i)))
        client.put_dataset(ds)
        client.append_to_list("sgs_samples", ds)

    for i in range(10):
        put(i)
    sn.register_reader("sgs_samples", "late", raw=r)
    assert sn.apply_retention(client, "sgs_samples", 2, raw=r) == 0       # waits for it
    cur = sn.ListCursor(client, "sgs_samples", raw=r, reader="late")
    assert len(cur.read(6)) == 6
    assert sn.apply_retention(client, "sgs_samples", 2, raw=r) == 6       # what it passed
    assert sn.reader_drops("sgs_samples", raw=r) == {}
    for i in range(10, 20):
        put(i)                                   # 14 listed; the reader stays at entry 6
    assert sn.apply_retention(client, "sgs_samples", 2, raw=r, max_lag=3) == 9
    assert sn.reader_drops("sgs_samples", raw=r) == {"late": 9}
    got = cur.read(100)
    assert cur.missed == 9 and [n for _, n, _ in got] == [f"sgs.{i}.0" for i in range(15, 20)]
    cur.unregister()
    assert sn.apply_retention(client, "sgs_samples", 2, raw=r) == 3


def test_a_dataset_listed_twice_is_read_once(client, r):
    """A producer whose append was executed but whose reply was lost sends it again (SmartRedis
    append_to_list is a plain RPUSH): every reader, data-parallel ones too, skips the repeat."""
    from smartredis import Dataset

    for i in range(4):
        ds = Dataset(f"sgs.{i}.0")
        ds.add_tensor("features", np.full((3, 9), float(i)))
        client.put_dataset(ds)
        client.append_to_list("sgs_samples", ds)
        if i == 1:
            client.append_to_list("sgs_samples", ds)        # the resend
    assert client.get_list_length("sgs_samples") == 5
    cur = sn.ListCursor(client, "sgs_samples", raw=r)
    assert [n for _, n, _ in cur.read()] == ["sgs.0.0", "sgs.1.0", "sgs.2.0", "sgs.3.0"]
    assert cur.repeated == 1 and cur.cursor == 5
    # two data-parallel ranks share the list by absolute index: together each dataset once
    ranks = [sn.ListCursor(client, "sgs_samples", raw=r) for _ in range(2)]
    got = [[n for _, n, _ in c.read(want=lambda i, k=k: i % 2 == k)] for k, c in enumerate(ranks)]
    assert sorted(got[0] + got[1]) == ["sgs.0.0", "sgs.1.0", "sgs.2.0", "sgs.3.0"]


def test_reader_accounts_for_every_entry_under_concurrent_retention(r, solver_snapshots):
    """A producer thread appends 16 steps x 2 ranks while a retention thread keeps trimming to
    the last 3 entries: the reader reads or counts as missed every one of the 32 entries exactly
    once, never assembles a wrong field, and sees no duplicates."""
    import dataclasses
    import threading
    import time

    from smartredis import Client

    base = solver_snapshots[:4]
    snaps = [dataclasses.replace(base[i % 4], step=100 + i) for i in range(16)]
    done, half = threading.Event(), threading.Event()
    errors = []

    def produce():
        try:
            c = Client(False, logger_name="producer")
            for i in range(len(snaps)):
                publish(c, snaps, order=[(i, 0), (i, 1)])
                if i == 7:
                    half.set()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def retain():
        try:
            c = Client(False, logger_name="retention")
            while not done.is_set():
                sn.apply_retention(c, "snapshots", 3, raw=r)
                time.sleep(0.002)
            sn.apply_retention(c, "snapshots", 3, raw=r)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    reader = sn.SnapshotReader(Client(False, logger_name="reader"), raw=r, batch=3)
    threads = [threading.Thread(target=produce), threading.Thread(target=retain)]
    for t in threads:
        t.start()
    got = []
    assert half.wait(60)
    sn.apply_retention(reader.list.client, "snapshots", 3, raw=r)  # overtakes the reader
    while not done.is_set() or reader.available():
        got += reader.poll()
        time.sleep(0.03)           # a slow consumer
    for t in threads:
        t.join(timeout=60)
    got += reader.poll()
    assert not errors, errors
    stats = reader.finish()
    assert stats.entries + stats.missed == 32 and reader.cursor == 32
    assert stats.duplicates == 0 and stats.bad == 0
    assert stats.steps == len(got) and len({s.step for s in got}) == len(got)
    for s in got:
        assert np.array_equal(s["u"], base[(s.step - 100) % 4].fields["u"]), s.step
    assert stats.missed > 0        # retention did overtake the reader
    assert sn.trimmed_count("snapshots", raw=r) == 32 - r.llen("snapshots")

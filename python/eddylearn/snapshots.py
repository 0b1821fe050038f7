"""Read solution snapshots from the database as they arrive, and keep the database bounded.

The solver puts one SmartRedis dataset per step and rank, ``P + "snapshot.<step>.<rank>"``, and
appends it to the aggregation list ``P + "snapshots"`` (see docs/consumers.md for the full data
contract). This module gives the consumers:

- :class:`ListCursor`: an absolute cursor into any list of datasets that retention trims;
- :class:`SnapshotReader`: each consumer's own cursor into the snapshot list. It reads new
  list entries, fetches their datasets with the genuine SmartRedis client, groups the per-rank
  blocks by step and assembles the global (nx, ny, nz) fields once every rank of a step has
  arrived. Entries that retention removed before the consumer saw them, and datasets deleted
  between listing and reading, are counted as missed, never fatal.
- :func:`apply_retention`: keep the last K entries (or steps) of a list, delete the datasets of
  the older entries, and return how many entries were removed.
- :func:`stop_requested` / :func:`request_stop`: the ``P + "control.stop"`` tensor.

Why list indices are read with redis-py: SmartRedis has no LTRIM, and a plain index cursor is
wrong once another process trims the head of the list (every index shifts). Retention therefore
trims with a Lua script that, in the same atomic step, adds the number removed to a counter
``{<list key>}.trimmed`` (the hash tag puts it on the list's cluster slot). A reader reads the
counter, the length and the new entries in one atomic script too, so its cursor is an absolute
position: list index + trimmed count. The datasets themselves are read with SmartRedis.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import os
import re
from typing import Iterable

import numpy as np

log = logging.getLogger(__name__)

SNAPSHOT_LIST = "snapshots"
STOP_TENSOR = "control.stop"
FIELD_NAMES = ("u", "v", "w", "p")

# One atomic read: trimmed counter, list length and up to ARGV[2] entries from absolute ARGV[1].
_READ_LUA = """
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1]) - t
if i < 0 then i = 0 end
local items = {}
if i < n then items = redis.call('LRANGE', KEYS[1], i, i + tonumber(ARGV[2]) - 1) end
return {t, n, items}
"""

# One atomic trim of the first ARGV[1] entries, only if nobody trimmed since the caller looked
# (the counter still equals ARGV[2]); returns the removed entries, or false on a conflict.
_TRIM_LUA = """
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
if t ~= tonumber(ARGV[2]) then return false end
local m = tonumber(ARGV[1])
if m <= 0 then return {} end
local old = redis.call('LRANGE', KEYS[1], 0, m - 1)
redis.call('LTRIM', KEYS[1], m, -1)
redis.call('INCRBY', KEYS[2], #old)
return old
"""

_STEP_RANK = re.compile(r"\.(\d+)\.(\d+)$")


class SnapshotError(RuntimeError):
    """A snapshot dataset that does not follow the data contract."""


# --------------------------------------------------------------------------- connections

def _env(name: str, suffix: str = "") -> str | None:
    return os.environ.get(f"{name}_{suffix}" if suffix else name)


def cluster_mode(suffix: str = "") -> bool:
    """Whether SR_DB_TYPE asks for a cluster: Clustered (case-insensitive), and also when it
    is unset or empty — the default of SmartRedis and of eddylearn's C/Fortran client, so
    every component reads the same environment the same way. SmartSim sets it for the models
    it launches."""
    value = (_env("SR_DB_TYPE", suffix) or "").strip().lower()
    return value in ("", "clustered")


def make_client(logger_name: str = "eddylearn", suffix: str = ""):
    """A SmartRedis client configured from the environment (SSDB, SR_DB_TYPE, SSKEYIN, ...)."""
    from smartredis import Client, ConfigOptions

    if not _env("SSDB", suffix):
        raise ConnectionError(f"SSDB{'_' + suffix if suffix else ''} is not set: the database "
                              "address (host:port) must be in the environment")
    try:
        if (_env("SR_DB_TYPE", suffix) or "").strip():
            opts = ConfigOptions.create_from_environment(suffix) if suffix else None
            return Client(opts, logger_name=logger_name)
        return Client(True, logger_name=logger_name)
    except Exception as exc:
        if (_env("SR_DB_TYPE", suffix) or "").strip():
            raise
        raise ConnectionError(f"SR_DB_TYPE is unset, which means Clustered (as in SmartRedis and "
                              f"the C/Fortran client), and the cluster client could not connect "
                              f"to {_env('SSDB', suffix)}; for a single server set "
                              f"SR_DB_TYPE=Standalone ({str(exc).splitlines()[0]})") from None


def raw_connection(suffix: str = "", timeout: float = 30.0):
    """A redis-py connection to the same database SmartRedis uses (first SSDB entry), with
    the credentials of EDDYLEARN_DB_USER / EDDYLEARN_DB_PASSWORD when they are set (SmartRedis
    0.6.1 itself cannot send a password; see docs/database.md, Authentication)."""
    import redis

    password = _env("EDDYLEARN_DB_PASSWORD", suffix) or None
    auth = {"username": (_env("EDDYLEARN_DB_USER", suffix) or None) if password else None, "password": password}

    ssdb = _env("SSDB", suffix)
    if not ssdb:
        raise ConnectionError("SSDB is not set: the database address (host:port) must be in "
                              "the environment")
    first = ssdb.split(",")[0].strip()
    if first.startswith("unix://"):
        if cluster_mode(suffix):
            raise ConnectionError("a Unix socket address cannot be used with a clustered database")
        return redis.Redis(unix_socket_path=first[len("unix://"):], socket_timeout=timeout,
                           protocol=2, **auth)
    if first.startswith("tcp://"):
        first = first[len("tcp://"):]
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit():
        raise ConnectionError(f"cannot read host:port from SSDB entry {first!r}")
    host = host.strip("[]")
    if cluster_mode(suffix):
        from redis.cluster import RedisCluster
        return RedisCluster(host=host, port=int(port), socket_timeout=timeout, protocol=2, **auth)
    return redis.Redis(host=host, port=int(port), socket_timeout=timeout, protocol=2, **auth)


def get_prefix(suffix: str = "") -> str:
    """The SmartRedis get-prefix that lists and datasets are read with ("" unless SSKEYIN)."""
    keyin = _env("SSKEYIN", suffix)
    if not keyin:
        return ""
    return keyin.split(",")[0] + "."


def list_key(list_name: str, suffix: str = "") -> str:
    """The Redis key of an aggregation list as SmartRedis reads it."""
    key = get_prefix(suffix) + list_name
    if "{" in key or "}" in key:
        raise ValueError(f"list name {key!r} must not contain braces")
    return key


def counter_key(key: str) -> str:
    """The retention counter of list key `key`, on the same cluster slot as the list."""
    return "{" + key + "}.trimmed"


def dataset_name(entry: str | bytes) -> str:
    """The dataset name of a list entry: the text between the first '{' and the last '}'."""
    if isinstance(entry, bytes):
        entry = entry.decode()
    a, b = entry.find("{"), entry.rfind("}")
    if a < 0 or b <= a:
        raise SnapshotError(f"list entry {entry!r} is not a dataset key")
    return entry[a + 1:b]


def step_of(name: str) -> int | None:
    """The step of a dataset named `<base>.<step>.<rank>`, or None."""
    m = _STEP_RANK.search(name)
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- control

def stop_requested(client, prefix: str = "") -> bool:
    """True when the tensor P + "control.stop" exists and is non-zero."""
    key = prefix + STOP_TENSOR
    try:
        if not client.tensor_exists(key):
            return False
        return bool(np.any(np.asarray(client.get_tensor(key)) != 0))
    except Exception as exc:  # a broken flag must not kill a consumer
        log.warning("could not read %s: %s", key, exc)
        return False


def request_stop(client, prefix: str = "") -> None:
    """Ask every consumer on prefix P to stop (what the driver does)."""
    client.put_tensor(prefix + STOP_TENSOR, np.array([1], dtype=np.int32))


# --------------------------------------------------------------------------- retention

def readers_key(key: str) -> str:
    """The hash of registered readers of list key `key` (reader -> absolute cursor)."""
    return "{" + key + "}.readers"


def dropped_key(key: str) -> str:
    """The hash of entries retention removed before each registered reader read them."""
    return "{" + key + "}.dropped"


def register_reader(list_name: str, reader: str, cursor: int = 0, *, raw=None,
                    suffix: str = "") -> None:
    """Register `reader` of list `list_name` at `cursor` (unless it is registered already):
    retention then keeps the entries it has not passed, up to its lag bound. A driver
    registers the readers it starts before they run, so a slow start loses nothing."""
    raw = raw if raw is not None else raw_connection(suffix)
    raw.hsetnx(readers_key(list_key(list_name, suffix)), reader, int(cursor))


def unregister_reader(list_name: str, reader: str, *, raw=None, suffix: str = "") -> None:
    raw = raw if raw is not None else raw_connection(suffix)
    raw.hdel(readers_key(list_key(list_name, suffix)), reader)


def reader_drops(list_name: str, *, raw=None, suffix: str = "") -> dict[str, int]:
    """Entries removed before each registered reader read them (lag bound exceeded)."""
    raw = raw if raw is not None else raw_connection(suffix)
    got = raw.hgetall(dropped_key(list_key(list_name, suffix)))
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in got.items()}


def apply_retention(client, list_name: str, keep_last: int, *, unit: str = "entries",
                    raw=None, suffix: str = "", max_lag: int | None = None) -> int:
    """Keep the last `keep_last` entries (unit="entries") or the entries of the last
    `keep_last` steps (unit="steps") of aggregation list `list_name`; delete the datasets of
    the older entries with SmartRedis `client`. Returns the number of entries removed.

    Only a prefix of the list is removed, atomically, and the list's trimmed counter grows by
    the same number, so readers keep their place. With unit="steps" the cut is made before the
    first entry that belongs to one of the last `keep_last` steps. After a trim the counter's
    value is also put as the tensor `list_name + ".trimmed"` (int64 [1]) for readers that use
    SmartRedis only; that copy is not atomic with the trim (see docs/consumers.md).

    Registered readers (register_reader, ListCursor(reader=...)) are respected: an entry is
    removed only once every registered reader has passed it, or once the list holds more than
    `keep_last + max_lag` (entries or steps) — then the entries a reader had not read are
    counted for it in the list's dropped hash (reader_drops) and logged. max_lag=None: no
    bound (a stuck reader keeps everything)."""
    if keep_last < 0:
        raise ValueError(f"keep_last must be >= 0, got {keep_last}")
    if max_lag is not None and max_lag < 0:
        raise ValueError(f"max_lag must be >= 0, got {max_lag}")
    if unit not in ("entries", "steps"):
        raise ValueError(f"unit must be 'entries' or 'steps', got {unit!r}")
    raw = raw if raw is not None else raw_connection(suffix)
    key = list_key(list_name, suffix)
    ckey = counter_key(key)
    trim = raw.register_script(_TRIM_LUA)
    for _attempt in range(20):
        value = raw.get(ckey)
        trimmed = int(value) if value is not None else 0
        entries = raw.lrange(key, 0, -1) if unit == "steps" else None
        n = raw.llen(key) if entries is None else len(entries)

        def cut(keep: int) -> int:
            return n - keep if unit == "entries" else _cut_index(entries, keep)

        m = cut(keep_last)
        if m <= 0:
            return 0
        readers = {(k.decode() if isinstance(k, bytes) else k): int(v)
                   for k, v in raw.hgetall(readers_key(key)).items()}
        if readers:
            passed = min(readers.values()) - trimmed    # entries every reader has passed
            forced = cut(keep_last + max_lag) if max_lag is not None else 0
            m = min(m, max(passed, forced, 0))
            if m <= 0:
                return 0
        old = trim(keys=[key, ckey], args=[m, trimmed])
        if old is None:  # somebody else trimmed in between; look again
            continue
        for reader, cursor in readers.items():
            lost = trimmed + len(old) - max(cursor, trimmed)
            if lost > 0:
                raw.hincrby(dropped_key(key), reader, lost)
                log.warning("retention on %s: %d entries removed before reader %s read them "
                            "(its lag passed the bound of %s)", key, lost, reader, max_lag)
        _publish_trimmed(client, list_name, raw.get(ckey))
        deleted = missing = 0
        for entry in old:
            try:
                client.delete_dataset(dataset_name(entry))
                deleted += 1
            except Exception:  # already gone, or an entry that names no dataset
                missing += 1
        log.debug("retention on %s: removed %d entries (%d datasets deleted, %d already gone)",
                 key, len(old), deleted, missing)
        return len(old)
    raise RuntimeError(f"retention on {key}: the list kept changing under concurrent trims")


def trimmed_tensor(list_name: str) -> str:
    """Name of the tensor (int64 [1]) that mirrors the list's trimmed counter for readers that
    only use SmartRedis (the SGS trainer reads ``P + "sgs_samples.trimmed"``)."""
    return list_name + ".trimmed"


def _publish_trimmed(client, list_name: str, value) -> None:
    try:
        client.put_tensor(trimmed_tensor(list_name), np.array([int(value or 0)], dtype=np.int64))
    except Exception as exc:   # the atomic counter stays right; only the mirror lags
        log.warning("could not update %s: %s", trimmed_tensor(list_name), exc)


def _cut_index(entries: list, keep_last: int) -> int:
    """Entries before the first one that belongs to one of the last keep_last steps."""
    steps = []
    for e in entries:
        try:
            steps.append(step_of(dataset_name(e)))
        except SnapshotError:
            steps.append(None)
    known = sorted({s for s in steps if s is not None})
    kept = set(known[-keep_last:]) if keep_last > 0 else set()
    m = 0
    while m < len(entries) and (steps[m] is None or steps[m] not in kept):
        m += 1
    return m


def trimmed_count(list_name: str, *, raw=None, suffix: str = "") -> int:
    """How many entries retention has removed from the list so far."""
    raw = raw if raw is not None else raw_connection(suffix)
    v = raw.get(counter_key(list_key(list_name, suffix)))
    return int(v) if v is not None else 0


# --------------------------------------------------------------------------- snapshots

@dataclasses.dataclass
class Snapshot:
    """One step, assembled: global fields (nx, ny, nz), numpy [i,j,k] == Fortran (i+1,j+1,k+1)."""
    step: int
    time: float
    n: tuple[int, int, int]
    dx: tuple[float, float, float]
    nranks: int
    fields: dict[str, np.ndarray]

    @property
    def lengths(self) -> tuple[float, float, float]:
        return tuple(float(a * b) for a, b in zip(self.n, self.dx))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.fields[name]

    def kinetic_energy(self) -> float:
        """0.5 * mean(u^2 + v^2 + w^2) over the faces (the solver's discrete energy)."""
        return 0.5 * float(np.mean(self["u"] ** 2) + np.mean(self["v"] ** 2)
                           + np.mean(self["w"] ** 2))


@dataclasses.dataclass
class _Block:
    step: int
    time: float
    rank: int
    nranks: int
    n: tuple[int, int, int]
    offset: tuple[int, int, int]
    dx: tuple[float, float, float]
    fields: dict[str, np.ndarray]


def _meta(ds, name: str, count: int):
    try:
        v = np.asarray(ds.get_meta_scalars(name))
    except Exception as exc:
        raise SnapshotError(f"metadata field {name!r} is missing ({exc})") from None
    if v.size != count:
        raise SnapshotError(f"metadata field {name!r} has {v.size} values, expected {count}")
    return v


def block_from_dataset(ds) -> _Block:
    """Check a snapshot dataset against the data contract and return its contents."""
    step = int(_meta(ds, "step", 1)[0])
    time = float(_meta(ds, "time", 1)[0])
    rank = int(_meta(ds, "rank", 1)[0])
    nranks = int(_meta(ds, "nranks", 1)[0])
    n = tuple(int(x) for x in _meta(ds, "n", 3))
    offset = tuple(int(x) for x in _meta(ds, "offset", 3))
    dx = tuple(float(x) for x in _meta(ds, "dx", 3))
    if nranks < 1 or not 0 <= rank < nranks:
        raise SnapshotError(f"rank {rank} of {nranks} is out of range")
    if min(n) < 1 or min(dx) <= 0:
        raise SnapshotError(f"bad grid n={n} dx={dx}")
    names = list(ds.get_tensor_names())
    fields = {}
    for f in FIELD_NAMES:
        if f in names:
            fields[f] = np.asarray(ds.get_tensor(f), dtype=np.float64)
        elif f != "p":
            raise SnapshotError(f"tensor {f!r} is missing")
    shape = fields["u"].shape
    if len(shape) != 3:
        raise SnapshotError(f"tensor 'u' has shape {shape}, expected 3 dimensions")
    for f, a in fields.items():
        if a.shape != shape:
            raise SnapshotError(f"tensor {f!r} has shape {a.shape}, 'u' has {shape}")
    if any(o < 0 or o + s > g for o, s, g in zip(offset, shape, n)):
        raise SnapshotError(f"block of shape {shape} at offset {offset} lies outside grid {n}")
    return _Block(step, time, rank, nranks, n, offset, dx, fields)


def assemble(blocks: Iterable[_Block]) -> Snapshot:
    """Place the blocks of one step into the global fields (checks they tile the grid)."""
    blocks = sorted(blocks, key=lambda b: b.rank)
    b0 = blocks[0]
    for b in blocks:
        if (b.step, b.n, b.nranks) != (b0.step, b0.n, b0.nranks) or \
                not np.allclose(b.dx, b0.dx, rtol=1e-12):
            raise SnapshotError(f"step {b0.step}: ranks {b0.rank} and {b.rank} disagree on "
                                "the grid")
    if len({b.rank for b in blocks}) != b0.nranks:
        raise SnapshotError(f"step {b0.step}: {len(blocks)} blocks for {b0.nranks} ranks")
    names = set(b0.fields)
    if any(set(b.fields) != names for b in blocks):
        raise SnapshotError(f"step {b0.step}: ranks sent different tensors")
    fields = {f: np.zeros(b0.n) for f in FIELD_NAMES if f in names}
    cover = np.zeros(b0.n, dtype=np.int8)
    for b in blocks:
        sl = tuple(slice(o, o + s) for o, s in zip(b.offset, b.fields["u"].shape))
        cover[sl] += 1
        for f in fields:
            fields[f][sl] = b.fields[f]
    if not np.all(cover == 1):
        raise SnapshotError(f"step {b0.step}: the rank blocks do not tile the {b0.n} grid")
    return Snapshot(b0.step, b0.time, b0.n, b0.dx, b0.nranks, fields)


@dataclasses.dataclass
class ReaderStats:
    entries: int = 0        # list entries read and fetched
    missed: int = 0         # entries removed or deleted before this reader fetched them
    bad: int = 0            # datasets that broke the data contract
    duplicates: int = 0     # a (step, rank) seen before, or a dataset listed again
    steps: int = 0          # complete steps assembled
    incomplete: int = 0     # steps given up with ranks missing

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class ListCursor:
    """An absolute cursor into an aggregation list whose head retention may trim.

    read() returns the entries that arrived since the last call as (index, name, dataset)
    tuples: index is the entry's absolute position (list index + entries trimmed so far), name
    the dataset name, dataset the SmartRedis Dataset, or None when it was deleted before it
    could be fetched (counted in `missed`). Entries trimmed before the cursor reached them are
    counted in `missed` too. Any list of datasets can be read this way (snapshots, SGS samples).
    """

    def __init__(self, client, list_name: str, *, raw=None, suffix: str = "", batch: int = 64,
                 start: int = 0, reader: str | None = None):
        if batch < 1:
            raise ValueError(f"batch must be positive, got {batch}")
        self.client = client
        self.raw = raw if raw is not None else raw_connection(suffix)
        self.key = list_key(list_name, suffix)
        self.ckey = counter_key(self.key)
        self.reader = reader       # registered name: retention keeps what it has not passed
        if reader:
            self.raw.hsetnx(readers_key(self.key), reader, int(start))
        self.cursor = int(start)   # absolute position of the next entry to read
        self.batch = batch
        self.missed = 0            # trimmed before read, or dataset deleted before fetched
        self.bad = 0               # list entries that name no dataset
        self.repeated = 0          # an entry listed again (a producer's resend): skipped
        self._seen: set[str] = set()
        self._seen_order: collections.deque[str] = collections.deque()
        self._script = self.raw.register_script(_READ_LUA)

    #: how many recent dataset names a cursor remembers to skip repeated entries
    SEEN_WINDOW = 65536

    def _repeated(self, name: str) -> bool:
        """True when `name` was listed before (within SEEN_WINDOW entries); remembers it."""
        if name in self._seen:
            return True
        self._seen.add(name)
        self._seen_order.append(name)
        if len(self._seen_order) > self.SEEN_WINDOW:
            self._seen.discard(self._seen_order.popleft())
        return False

    def available(self) -> int:
        """Entries in the list that this cursor has not read yet."""
        trimmed, n, _ = self._script(keys=[self.key, self.ckey], args=[self.cursor, 0])
        return max(0, int(trimmed) + int(n) - max(self.cursor, int(trimmed)))

    def read(self, max_entries: int | None = None,
             want=None) -> list[tuple[int, str, object]]:
        """Up to max_entries (default: the batch size) new entries, fetched with SmartRedis.
        With want (a function of the absolute index), entries it rejects are passed over
        without being fetched (data-parallel readers share a list this way)."""
        count = self.batch if max_entries is None else max_entries
        trimmed, n, items = self._script(keys=[self.key, self.ckey], args=[self.cursor, count])
        trimmed = int(trimmed)
        if self.cursor < trimmed:
            lost = trimmed - self.cursor
            self.missed += lost
            log.warning("%s: %d entries were removed by retention before they were read",
                        self.key, lost)
            self.cursor = trimmed
        out = []
        for entry in items:
            index = self.cursor
            self.cursor += 1
            try:
                name = dataset_name(entry)
            except SnapshotError as exc:
                if want is None or want(index):
                    self.bad += 1
                    log.warning("%s entry %d: %s", self.key, index, exc)
                continue
            # every reader sees every name (before `want`), so data-parallel readers agree
            if self._repeated(name):
                self.repeated += 1
                log.info("%s entry %d: %s listed again; skipped", self.key, index, name)
                continue
            if want is not None and not want(index):
                continue
            try:
                ds = self.client.get_dataset(name)
            except Exception as exc:
                self.missed += 1
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("dataset %s could not be read (deleted by retention?): %s", name, msg)
                ds = None
            out.append((index, name, ds))
        if self.reader and items:
            self.raw.hset(readers_key(self.key), self.reader, self.cursor)
        return out

    def unregister(self) -> None:
        """This reader is done: retention no longer waits for it."""
        if self.reader:
            self.raw.hdel(readers_key(self.key), self.reader)


class SnapshotReader:
    """One consumer's cursor into the snapshot list (see the module docstring).

    >>> reader = SnapshotReader(client, prefix="run1.")
    >>> for snap in reader.poll(): ...
    """

    def __init__(self, client, prefix: str = "", list_name: str = SNAPSHOT_LIST, *, raw=None,
                 suffix: str = "", batch: int = 64, max_pending: int = 8, start: int = 0,
                 reader: str | None = None):
        if max_pending < 1:
            raise ValueError(f"max_pending must be positive, got {max_pending}")
        self.list = ListCursor(client, prefix + list_name, raw=raw, suffix=suffix, batch=batch,
                               start=start, reader=reader)
        self.key = self.list.key
        self.max_pending = max_pending
        self._stats = ReaderStats()
        self._pending: dict[int, dict[int, _Block]] = {}
        self._done: set[int] = set()

    @property
    def cursor(self) -> int:
        return self.list.cursor

    @property
    def stats(self) -> ReaderStats:
        """The counts so far (a copy): missed and bad include the list cursor's."""
        return dataclasses.replace(self._stats, missed=self.list.missed,
                                   bad=self._stats.bad + self.list.bad,
                                   duplicates=self._stats.duplicates + self.list.repeated)

    @property
    def pending_steps(self) -> list[int]:
        return sorted(self._pending)

    def available(self) -> int:
        """Entries in the list that this reader has not read yet."""
        return self.list.available()

    def poll(self) -> list[Snapshot]:
        """Read entries that arrived since the last call, a batch at a time, until a batch
        completes at least one step or the list is exhausted; return the completed steps in
        step order (an empty list means nothing more is there now). Memory stays bounded by
        one batch plus the pending steps, however long the backlog."""
        out: list[Snapshot] = []
        while True:
            items = self.list.read()
            for _index, name, ds in items:
                if ds is not None:
                    snap = self._take(name, ds)
                    if snap is not None:
                        out.append(snap)
            if out or not items:
                break
        out.sort(key=lambda s: s.step)
        return out

    def _take(self, name: str, ds) -> Snapshot | None:
        self._stats.entries += 1
        try:
            block = block_from_dataset(ds)
        except SnapshotError as exc:
            self._stats.bad += 1
            log.warning("dataset %s: %s", name, exc)
            return None
        if block.step in self._done or block.rank in self._pending.get(block.step, {}):
            self._stats.duplicates += 1
            return None
        blocks = self._pending.setdefault(block.step, {})
        blocks[block.rank] = block
        if len(blocks) < block.nranks:
            self._trim_pending()
            return None
        del self._pending[block.step]
        self._done.add(block.step)
        try:
            snap = assemble(blocks.values())
        except SnapshotError as exc:
            self._stats.bad += 1
            log.warning("%s", exc)
            return None
        self._stats.steps += 1
        return snap

    def _trim_pending(self) -> None:
        while len(self._pending) > self.max_pending:
            oldest = min(self._pending)
            got = sorted(self._pending.pop(oldest))
            self._done.add(oldest)
            self._stats.incomplete += 1
            log.warning("step %d given up with ranks %s only", oldest, got)

    def finish(self) -> ReaderStats:
        """Give up the steps still waiting for ranks (counted as incomplete)."""
        for step in sorted(self._pending):
            self._stats.incomplete += 1
            log.warning("step %d incomplete at the end (ranks %s)", step,
                        sorted(self._pending[step]))
        self._pending.clear()
        try:
            self.list.unregister()
        except Exception as exc:    # a lost database: nothing to release
            log.warning("could not unregister reader %s: %s", self.list.reader, exc)
        return self.stats

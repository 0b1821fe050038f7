"""Typed experiment configuration, loaded from TOML. Defaults live here and only here; an
unknown section or key is an error that names it; values are checked before anything starts."""
from __future__ import annotations

import dataclasses
import math
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._sgs_models import MODEL_NAMES
from .io import NAMELIST_KEYS

#: the snapshot consumers an experiment may run, each in its own [table]
CONSUMERS = ("analyser", "compressor", "visualiser")

#: hidden layer widths of the learned SGS network (SGSNet), the one default of the trainer, the
#: experiment's [trainer] and validate tgv-les; chosen from the cost/accuracy table of network
#: sizes in docs/benchmarks.md ("Inference")
SGS_HIDDEN = (32,)

#: the activation between the hidden layers of SGSNet (eddylearn.consumers.trainer.ACTIVATIONS):
#: the exact GELU; ReLU and Hardswish cost less in the database, but gated a posteriori the
#: ReLU model came out less accurate at 32^3 and the Hardswish one at 24^3 (docs/benchmarks.md,
#: "Network size" and "A cheaper stress drain, and Hardswish")
SGS_ACTIVATION = "gelu"
SGS_ACTIVATIONS = ("gelu", "relu", "hardswish")

#: the local invariants the gate knows, each dimensionless (scale-free):
#: "wale": the WALE operator over the gradient's magnitude (>= 0),
#:   (Sd:Sd)^(3/2) / ((S:S)^(5/2) + (Sd:Sd)^(5/4)) / sqrt(S:S + W:W) (0 in pure shear);
#: "rotation": W:W / (S:S + W:W), in [0, 1] (0 in pure strain, 1/2 in pure shear, 1 in pure
#:   rotation);
#: "stretching": the vortex-stretching rate over its scale, w.S.w / (|w|^2 sqrt(S:S)), w the
#:   vorticity (between -sqrt(2/3) and sqrt(2/3) for a trace-free gradient, the LES's; 0 in
#:   pure shear and in two-dimensional flow)
GATE_INVARIANTS = ("wale", "rotation", "stretching")

#: the forms of the a-posteriori stage: one output scale theta0, or the gate theta0 + theta1 r
A_POSTERIORI_FORMS = ("scale", "gate")

#: the default grids of the search (the plain model is theta0 = 1, theta1 = 0). The gate's, on
#: the stretching invariant, drains where the stretching rate is below theta0 / |theta1|
#: (0.125-0.5), the cut-offs at which, on the TGV's training samples, the network's drain through
#: the LES's strain over what the DNS's energy loss asks of it varies least in time, at levels
#: theta0 of 1 and 2 (docs/validation.md, "What each change to the learned model did"). Here, not
#: in eddylearn.aposteriori, so that the command line reads them without importing torch.
DEFAULT_SCALES = (0.5, 1.0, 1.5, 2.0)
DEFAULT_GATE = ((1.0, 2.0), (-4.0, -8.0))
DEFAULT_INVARIANT = "stretching"

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI
    import tomli as tomllib


class ConfigError(ValueError):
    """The experiment configuration is invalid; the message names the key and the problem."""


@dataclass
class ExperimentSection:
    name: str = "eddylearn"
    launcher: str = "local"          # local | slurm | pbs (passed to SmartSim)
    time_limit: float = 600.0        # seconds; the experiment is stopped past this
    prefix: str = ""                 # key prefix of this run in the database
    stop_grace: float = 60.0         # seconds the consumers get to write their outputs on a stop
    log_interval: float = 30.0       # seconds between progress lines when not on a terminal


@dataclass
class Placement:
    """Where one entity runs in a batch allocation; 0 means computed from the allocation
    (eddylearn.placement)."""
    nodes: int = 0
    tasks_per_node: int = 0
    cpus_per_task: int = 0


@dataclass
class LauncherSection:
    """[launcher]: the kind (local, slurm or pbs; default experiment.launcher) and the
    placement of each entity: [launcher.database], [launcher.solver], [launcher.les],
    [launcher.analyser], [launcher.compressor], [launcher.visualiser] and
    [launcher.trainer.NAME] for the trainer called NAME."""
    kind: str = ""
    database: Placement = field(default_factory=Placement)
    solver: Placement = field(default_factory=Placement)
    les: Placement = field(default_factory=Placement)
    analyser: Placement = field(default_factory=Placement)
    compressor: Placement = field(default_factory=Placement)
    visualiser: Placement = field(default_factory=Placement)
    trainer: dict = field(default_factory=dict)


@dataclass
class DatabaseSection:
    port: int = 6780
    interface: str = "lo"
    shards: int = 1                  # 1, or 3 and more: a Redis Cluster
    threads_per_queue: int = 1
    retention: int = 40              # keep the entries of the last K steps of each list (0: keep all)
    persist: str = "none"            # none | rdb | aof: data kept in OUT/database across runs
    retention_max_lag: int = 200     # steps a registered reader may lag before entries go anyway


@dataclass
class StagingSection:
    enabled: bool = True
    snapshot_every: int = 20         # steps between snapshots (0: none)
    fields: str = "uvwp"             # which fields a snapshot holds: uvw or uvwp
    sgs_every: int = 5               # steps between SGS sample sets (0: none)
    sgs_width: int = 4               # box-filter width in cells (2 or 4)
    sgs_samples: int = 0             # samples per rank and set (0: every coarse cell)
    queue_mb: float = 256.0          # memory limit of the staging queue
    policy: str = "block"            # block | drop_oldest
    handover: str = "deferred"       # deferred: the sender copies a snapshot out of the fields;
                                     # copy: the solver thread does (docs/solver.md)


@dataclass
class SolverSection:
    ranks: int = 2
    domain: dict = field(default_factory=lambda: {"nx": 64, "ny": 64, "nz": 64})
    physics: dict = field(default_factory=lambda: {"nu": 1 / 1600, "initial": "tgv3d"})
    time: dict = field(default_factory=lambda: {"t_end": 20.0, "cfl": 0.5})
    sgs: dict = field(default_factory=lambda: {"model": "none"})
    output: dict = field(default_factory=lambda: {"diag_every": 1})
    staging: StagingSection = field(default_factory=StagingSection)


@dataclass
class TrainerSection:
    name: str = "trainer"
    ranks: int = 2
    hidden: list = field(default_factory=lambda: list(SGS_HIDDEN))
    activation: str = SGS_ACTIVATION
    lr: float = 1e-3
    batch: int = 256
    steps_per_round: int = 50
    report_every: int = 4
    publish_every: int = 200
    val_every: int = 5
    max_steps: int = 0
    extra_steps: int = 5000          # optimizer steps after the solver ends (0: stop at once)
    renormalise_drift: float = 0.5   # see eddylearn.consumers.trainer (0: first samples' for good)
    seed: int = 0


@dataclass
class ConsumerSection:
    enabled: bool = False
    options: dict = field(default_factory=dict)


@dataclass
class LESSection:
    """A second solver that uses the SGS model the trainers store, while they train: an LES
    on a coarser grid, started when the model's first version is stored."""
    enabled: bool = False
    ranks: int = 2
    wait_for_version: int = 1       # start the LES once this model version is stored (0: at once)
    after_solver: bool = False      # start it only once the solver has completed: every version
                                    # it runs has then learned from the whole simulated time
    trainer: str = ""               # whose model it runs (default: the first [[trainer]])
    domain: dict = field(default_factory=lambda: {"nx": 32, "ny": 32, "nz": 32})
    physics: dict = field(default_factory=lambda: {"nu": 1 / 1600, "initial": "tgv3d"})
    time: dict = field(default_factory=lambda: {"t_end": 20.0, "cfl": 0.5})
    sgs: dict = field(default_factory=lambda: {"model": "learned", "version_every": 5})
    output: dict = field(default_factory=lambda: {"diag_every": 1})


@dataclass
class ExperimentConfig:
    experiment: ExperimentSection = field(default_factory=ExperimentSection)
    launcher: LauncherSection = field(default_factory=LauncherSection)
    database: DatabaseSection = field(default_factory=DatabaseSection)
    solver: SolverSection = field(default_factory=SolverSection)
    trainer: list = field(default_factory=lambda: [TrainerSection()])
    les: LESSection = field(default_factory=LESSection)
    analyser: ConsumerSection = field(default_factory=lambda: ConsumerSection(enabled=True))
    compressor: ConsumerSection = field(default_factory=ConsumerSection)
    visualiser: ConsumerSection = field(default_factory=ConsumerSection)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _build(cls, data: dict, where: str, errors: list[str] | None = None):
    """Dataclass `cls` from a TOML table, recursively. Unknown keys and wrong types are
    appended to `errors` (the key keeps its default) or, without a list, raised at once."""
    raise_now = errors is None
    errors = [] if errors is None else errors
    place = f"[{where}]" if where else "the top level"
    if not isinstance(data, dict):
        errors.append(f"{place} must be a table, got {type(data).__name__}")
        if raise_now:
            raise ConfigError(errors[0])
        return cls()
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            errors.append(f"unknown key '{key}' in {place} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value, hint = data[f.name], hints[f.name]
        path = f"{where}.{f.name}" if where else f.name
        problem = None
        if dataclasses.is_dataclass(hint):
            value = _build(hint, value, path, errors)
        elif hint is bool:
            if not isinstance(value, bool):
                problem = f"{path} must be true or false, got {value!r}"
        elif hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                problem = f"{path} must be an integer, got {value!r}"
        elif hint is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problem = f"{path} must be a number, got {value!r}"
            elif not math.isfinite(value):
                problem = f"{path} must be a finite number, got {value!r}"
            else:
                value = float(value)
        elif hint is str:
            if not isinstance(value, str):
                problem = f"{path} must be a string, got {value!r}"
        elif hint is dict and not isinstance(value, dict):
            problem = f"{path} must be a table, got {value!r}"
        elif hint is list and not isinstance(value, list):
            problem = f"{path} must be an array, got {value!r}"
        if problem:
            errors.append(problem)
            continue
        kwargs[f.name] = value
    if raise_now and errors:
        raise ConfigError("; ".join(errors))
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> ExperimentConfig:
    """The configuration of a TOML table merged over the defaults. Every problem is found
    before anything starts and all are reported together, one per line."""
    errors: list[str] = []
    data = dict(data)
    trainers = data.pop("trainer", None)
    for key in CONSUMERS:
        if key in data and isinstance(data[key], dict):
            table = dict(data[key])
            enabled = table.pop("enabled", True)
            data[key] = {"enabled": enabled, "options": table}
    cfg = _build(ExperimentConfig, data, "", errors)
    trainer_places = cfg.launcher.trainer
    cfg.launcher.trainer = {}
    for name, table in trainer_places.items():
        cfg.launcher.trainer[name] = _build(Placement, table, f"launcher.trainer.{name}", errors)
    if cfg.launcher.kind:
        if "launcher" in data.get("experiment", {}) and \
                cfg.experiment.launcher != cfg.launcher.kind:
            errors.append(f"launcher.kind = {cfg.launcher.kind!r} and experiment.launcher = "
                          f"{cfg.experiment.launcher!r} differ; set one of them")
        cfg.experiment.launcher = cfg.launcher.kind
    cfg.launcher.kind = cfg.experiment.launcher
    if trainers is not None:
        if isinstance(trainers, dict):
            trainers = [trainers]
        if not isinstance(trainers, list):
            errors.append("[[trainer]] must be an array of tables")
        else:
            cfg.trainer = [_build(TrainerSection, t, f"trainer {i}", errors)
                           for i, t in enumerate(trainers)]
    # the solvers' namelist groups are merged over the defaults, key by key
    for section, cls in (("solver", SolverSection), ("les", LESSection)):
        table = data.get(section, {})
        for group in ("domain", "physics", "time", "sgs", "output"):
            given = table.get(group) if isinstance(table, dict) else None
            if isinstance(given, dict):
                merged = dict(getattr(cls(), group))
                merged.update(given)
                setattr(getattr(cfg, section), group, merged)
    validate(cfg, errors)
    if errors:
        raise ConfigError(errors[0] if len(errors) == 1 else
                          f"{len(errors)} problems:\n  " + "\n  ".join(errors))
    return cfg


def trainer_model_key(cfg: ExperimentConfig, name: str) -> str:
    """Where trainer `name` stores its model (after the prefix): the first trainer's is
    sgs_model (the key of docs/design.md), each further one's sgs_model.<name>."""
    first = cfg.trainer[0].name if cfg.trainer else None
    return "sgs_model" if name == first else f"sgs_model.{name}"


def les_model_key(cfg: ExperimentConfig) -> str:
    """The key (after the prefix) of the model the LES runs."""
    name = cfg.les.trainer or (cfg.trainer[0].name if cfg.trainer else "")
    return trainer_model_key(cfg, name) if name else "sgs_model"


def load(path: str | Path | None = None) -> ExperimentConfig:
    """The configuration in `path` (TOML) merged over the defaults; None gives the defaults."""
    if path is None:
        return from_dict({})
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def validate(cfg: ExperimentConfig, errors: list[str] | None = None) -> None:
    """Checks of single values (ranges, finite numbers, the solvers' namelist values) and of
    values together. Problems are appended to `errors`; without a list, ConfigError is raised
    with all of them."""
    raise_now = errors is None
    errors = [] if errors is None else errors
    _validate(cfg, errors.append)
    if raise_now and errors:
        err("; ".join(errors))


NAMELIST_GROUPS = ("domain", "physics", "time", "sgs", "output")


def _namelist_values(where: str, groups: dict, err) -> list[int] | None:
    """Ranges of the namelist values the solver would refuse at its start (checked here so
    that nothing starts). Returns the grid [nx, ny, nz], None when it is not usable."""
    def num(group, key, default, kind=float):
        v = groups[group].get(key, default)
        if kind is int:
            if isinstance(v, bool) or not isinstance(v, int):
                err(f"{where}.{group}.{key} must be an integer, got {v!r}")
                return None
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            err(f"{where}.{group}.{key} must be a finite number, got {v!r}")
            return None
        return float(v)

    n = [num("domain", k, 32, int) for k in ("nx", "ny", "nz")]
    grid_ok = all(v is not None for v in n)
    if grid_ok and (n[0] < 2 or n[1] < 2 or n[2] < 1):
        err(f"{where}.domain: grid nx, ny, nz = {n[0]}, {n[1]}, {n[2]} is too small "
            "(nx, ny >= 2, nz >= 1)")
        grid_ok = False
    if grid_ok and n[0] % 2:
        err(f"{where}.domain.nx = {n[0]} must be even")
    for k in ("lx", "ly", "lz"):
        v = num("domain", k, 1.0)
        if v is not None and v <= 0:
            err(f"{where}.domain.{k} must be positive, got {v}")
    checks = (("physics", "nu", 0.0, lambda v: v >= 0, "non-negative"),
              ("physics", "u0", 1.0, lambda v: v > 0, "positive"),
              ("physics", "k_peak", 4.0, lambda v: v > 0, "positive"),
              ("physics", "forcing_a", 0.0, lambda v: True, ""),
              ("time", "t_end", 20.0, lambda v: v >= 0, "non-negative"),
              ("time", "cfl", 0.5, lambda v: 0 < v <= 1.7, "in (0, 1.7]"),
              ("time", "dt", 0.0, lambda v: v >= 0, "non-negative (0: from cfl)"),
              ("sgs", "cs", 0.17, lambda v: v >= 0, "non-negative"),
              ("sgs", "c_wale", 0.325, lambda v: v >= 0, "non-negative"),
              ("sgs", "c_vreman", 0.07, lambda v: v >= 0, "non-negative"),
              ("sgs", "c_gradient", 1 / 12, lambda v: v >= 0, "non-negative"))
    for group, key, default, ok, what in checks:
        v = num(group, key, default)
        if v is not None and not ok(v):
            err(f"{where}.{group}.{key} must be {what}, got {v}")
    model = groups["sgs"].get("model")
    if model is not None and str(model).lower() not in MODEL_NAMES:
        err(f"{where}.sgs.model must be one of {', '.join(MODEL_NAMES)}, got {model!r}")
    average = groups["sgs"].get("dynamic_average")
    if average is not None and str(average).lower() not in ("box", "local"):
        err(f"{where}.sgs.dynamic_average must be box or local, got {average!r}")
    for group, key, default, low in (("time", "max_steps", 0, 0), ("output", "diag_every", 1, 1),
                                     ("output", "checkpoint_every", 0, 0),
                                     ("physics", "seed", 0, -2**31),
                                     ("sgs", "timeout_ms", 1, 1), ("sgs", "version_every", 1, 1),
                                     ("sgs", "retry_every", 1, 1), ("sgs", "infer_every", 0, 0)):
        v = num(group, key, default, int)
        if v is not None and v < low:
            err(f"{where}.{group}.{key} must be >= {low}, got {v}")
    initial = str(groups["physics"].get("initial", "tgv3d")).lower()
    if initial not in ("tgv3d", "tg2d", "isotropic"):
        err(f"{where}.physics.initial must be tgv3d, tg2d or isotropic, got {initial!r}")
    return n if grid_ok else None


def _validate(cfg: ExperimentConfig, err) -> None:
    e, db, s, st = cfg.experiment, cfg.database, cfg.solver, cfg.solver.staging
    if e.launcher not in ("local", "slurm", "pbs"):
        err(f"experiment.launcher must be local, slurm or pbs, got {e.launcher!r}")
    if e.time_limit <= 0:
        err("experiment.time_limit must be positive")
    if not 0.5 <= e.log_interval <= 86400:
        err(f"experiment.log_interval must be between 0.5 and 86400 s, got {e.log_interval}")
    if not 0 <= e.stop_grace <= 3600:
        err(f"experiment.stop_grace must be between 0 and 3600 s, got {e.stop_grace}")
    if any(c in e.prefix for c in " {}"):
        err(f"experiment.prefix {e.prefix!r} must not contain spaces or braces")
    if db.shards < 1 or db.shards == 2:
        err(f"database.shards must be 1, or 3 or more (a Redis Cluster needs at least three "
            f"masters), got {db.shards}")
    if db.shards > 1 and db.persist != "none":
        err("database.persist is for one shard; a sharded database starts empty")
    if not 1 <= db.port <= 65535:
        err(f"database.port {db.port} is not a port number")
    if db.threads_per_queue < 1 or db.retention < 0:
        err("database.threads_per_queue must be >= 1 and database.retention >= 0")
    if db.retention_max_lag < 0:
        err(f"database.retention_max_lag must be >= 0, got {db.retention_max_lag}")
    if db.persist not in ("none", "rdb", "aof"):
        err(f"database.persist must be none, rdb or aof, got {db.persist!r}")
    if s.ranks < 1:
        err(f"solver.ranks must be at least 1, got {s.ranks}")
    for group in ("domain", "physics", "time", "sgs", "output"):
        for key in getattr(s, group):
            if key not in NAMELIST_KEYS[group]:
                err(f"unknown key '{key}' in [solver.{group}] (known: "
                                  f"{', '.join(NAMELIST_KEYS[group])})")
    if "dir" in s.output:
        err("solver.output.dir is set by the driver (use --out)")
    restart = s.output.get("restart_file")
    if restart and not Path(restart).is_file():
        err(f"solver.output.restart_file not found: {restart}")
    n = _namelist_values("solver", {g: getattr(s, g) for g in NAMELIST_GROUPS}, err)
    if n is not None and s.ranks >= 1 and (n[1] % s.ranks or n[2] % s.ranks):
        err(f"solver.ranks = {s.ranks} does not divide the grid ny = {n[1]}, "
            f"nz = {n[2]} (slab decomposition)")
    if st.policy not in ("block", "drop_oldest"):
        err(f"solver.staging.policy must be block or drop_oldest, got {st.policy!r}")
    if st.handover not in ("deferred", "copy"):
        err(f"solver.staging.handover must be deferred or copy, got {st.handover!r}")
    if st.fields not in ("uvw", "uvwp"):
        err(f"solver.staging.fields must be uvw or uvwp, got {st.fields!r}")
    if st.snapshot_every < 0 or st.sgs_every < 0 or st.sgs_samples < 0 or st.queue_mb <= 0:
        err("solver.staging cadences and sample counts must be >= 0 and queue_mb > 0")
    if st.sgs_every and st.sgs_width not in (2, 4):
        err(f"solver.staging.sgs_width must be 2 or 4, got {st.sgs_width}")
    if (st.sgs_every and n is not None and s.ranks >= 1 and st.sgs_width >= 1
            and (n[0] % st.sgs_width or n[1] % st.sgs_width
                 or (n[2] // s.ranks) % st.sgs_width)):
        err(f"solver.staging.sgs_width = {st.sgs_width} does not divide each "
                          f"rank's block {n[0]} x {n[1]} x {n[2] // s.ranks}")
    names = [t.name for t in cfg.trainer]
    for name in cfg.launcher.trainer:
        if name not in names:
            err(f"[launcher.trainer.{name}] names no [[trainer]] (known: "
                f"{', '.join(names) or 'none'})")
    lc = cfg.launcher
    places = [("database", lc.database), ("solver", lc.solver), ("les", lc.les),
              ("analyser", lc.analyser), ("compressor", lc.compressor),
              ("visualiser", lc.visualiser)] + [(f"trainer.{k}", v) for k, v in lc.trainer.items()]
    for where, p in places:
        for key in ("nodes", "tasks_per_node", "cpus_per_task"):
            if getattr(p, key) < 0:
                err(f"launcher.{where}.{key} must be >= 0 (0: from the allocation), "
                    f"got {getattr(p, key)}")
    if lc.database.nodes and lc.database.nodes != db.shards:
        err(f"launcher.database.nodes = {lc.database.nodes} differs from database.shards = "
            f"{db.shards}: each shard runs on a node of its own")
    if len(set(names)) != len(names):
        err(f"trainer names must differ, got {names}")
    for t in cfg.trainer:
        if not t.name or any(c in t.name for c in " /\\{}.") or t.name.startswith("-"):
            err(f"trainer name {t.name!r} must be a plain word (no spaces, "
                              "slashes, dots or braces)")
        if t.max_steps < 0 or t.extra_steps < 0:
            err(f"trainer {t.name!r}: max_steps and extra_steps must be >= 0")
        if t.ranks < 1 or not t.hidden or any((not isinstance(h, int)) or h < 1 for h in t.hidden):
            err(f"trainer {t.name!r}: ranks >= 1 and positive integer hidden widths")
        if t.activation not in SGS_ACTIVATIONS:
            err(f"trainer {t.name!r}: activation must be one of {', '.join(SGS_ACTIVATIONS)}, "
                f"got {t.activation!r}")
        if t.lr <= 0 or t.batch < 1:
            err(f"trainer {t.name!r}: lr must be positive and batch >= 1")
        if t.renormalise_drift < 0:
            err(f"trainer {t.name!r}: renormalise_drift must be >= 0")
        if min(t.steps_per_round, t.report_every, t.publish_every, t.val_every) < 1:
            err(f"trainer {t.name!r}: steps_per_round, report_every, "
                              "publish_every and val_every must be at least 1")
    les = cfg.les
    if les.enabled:
        if les.ranks < 1 or les.wait_for_version < 0:
            err("les.ranks must be >= 1 and les.wait_for_version >= 0")
        for group in ("domain", "physics", "time", "sgs", "output"):
            for key in getattr(les, group):
                if key not in NAMELIST_KEYS[group]:
                    err(f"unknown key '{key}' in [les.{group}] (known: "
                                      f"{', '.join(NAMELIST_KEYS[group])})")
        if "dir" in les.output or "restart_file" in les.output:
            err("les.output.dir is set by the driver; les.output.restart_file is "
                              "not supported")
        if "model_key" in les.sgs:
            err("les.sgs.model_key is set by the driver (the trainers' "
                              "<prefix>sgs_model)")
        model = str(les.sgs.get("model", "learned")).lower()
        if model == "learned" and les.wait_for_version and not cfg.trainer:
            err("les.wait_for_version needs a [[trainer]] that stores the model")
        if les.trainer and les.trainer not in [t.name for t in cfg.trainer]:
            err(f"les.trainer {les.trainer!r} is not the name of a [[trainer]] "
                              f"(known: {', '.join(t.name for t in cfg.trainer) or 'none'})")
        m = _namelist_values("les", {g: getattr(les, g) for g in NAMELIST_GROUPS}, err)
        if m is not None and les.ranks >= 1 and (m[1] % les.ranks or m[2] % les.ranks):
            err(f"les.ranks = {les.ranks} does not divide the grid ny = {m[1]}, "
                f"nz = {m[2]} (slab decomposition)")
    if cfg.trainer and not (st.enabled and st.sgs_every):
        err("trainers need SGS samples: set solver.staging.enabled = true and "
                          "solver.staging.sgs_every > 0")

"""Typed experiment configuration, loaded from TOML. Defaults live here and only here; an
unknown section or key is an error that names it; values are checked before anything starts."""
from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .io import NAMELIST_KEYS


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
class DatabaseSection:
    port: int = 6780
    interface: str = "lo"
    threads_per_queue: int = 1
    retention: int = 40              # keep the last K entries of each list (0: keep all)
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
    hidden: list = field(default_factory=lambda: [64, 64])
    lr: float = 1e-3
    batch: int = 256
    steps_per_round: int = 50
    report_every: int = 4
    publish_every: int = 200
    val_every: int = 5
    max_steps: int = 0
    extra_steps: int = 5000          # optimizer steps after the solver ends (0: stop at once)
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
    trainer: str = ""               # whose model it runs (default: the first [[trainer]])
    domain: dict = field(default_factory=lambda: {"nx": 32, "ny": 32, "nz": 32})
    physics: dict = field(default_factory=lambda: {"nu": 1 / 1600, "initial": "tgv3d"})
    time: dict = field(default_factory=lambda: {"t_end": 20.0, "cfl": 0.5})
    sgs: dict = field(default_factory=lambda: {"model": "learned", "version_every": 5})
    output: dict = field(default_factory=lambda: {"diag_every": 1})


@dataclass
class ExperimentConfig:
    experiment: ExperimentSection = field(default_factory=ExperimentSection)
    database: DatabaseSection = field(default_factory=DatabaseSection)
    solver: SolverSection = field(default_factory=SolverSection)
    trainer: list = field(default_factory=lambda: [TrainerSection()])
    les: LESSection = field(default_factory=LESSection)
    analyser: ConsumerSection = field(default_factory=lambda: ConsumerSection(enabled=True))
    compressor: ConsumerSection = field(default_factory=ConsumerSection)
    visualiser: ConsumerSection = field(default_factory=ConsumerSection)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _build(cls, data: dict, where: str):
    """Dataclass `cls` from a TOML table, recursively; unknown keys and wrong types raise."""
    place = f"[{where}]" if where else "the top level"
    if not isinstance(data, dict):
        raise ConfigError(f"{place} must be a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(f"unknown key '{key}' in {place} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value, hint = data[f.name], hints[f.name]
        path = f"{where}.{f.name}" if where else f.name
        if dataclasses.is_dataclass(hint):
            value = _build(hint, value, path)
        elif hint is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{path} must be true or false, got {value!r}")
        elif hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{path} must be an integer, got {value!r}")
        elif hint is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{path} must be a number, got {value!r}")
            value = float(value)
        elif hint is str:
            if not isinstance(value, str):
                raise ConfigError(f"{path} must be a string, got {value!r}")
        elif hint is dict and not isinstance(value, dict):
            raise ConfigError(f"{path} must be a table, got {value!r}")
        elif hint is list and not isinstance(value, list):
            raise ConfigError(f"{path} must be an array, got {value!r}")
        kwargs[f.name] = value
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> ExperimentConfig:
    data = dict(data)
    trainers = data.pop("trainer", None)
    for key in ("analyser", "compressor", "visualiser"):
        if key in data and isinstance(data[key], dict):
            table = dict(data[key])
            enabled = table.pop("enabled", True)
            data[key] = {"enabled": enabled, "options": table}
    cfg = _build(ExperimentConfig, data, "")
    if trainers is not None:
        if isinstance(trainers, dict):
            trainers = [trainers]
        if not isinstance(trainers, list):
            raise ConfigError("[[trainer]] must be an array of tables")
        cfg.trainer = [_build(TrainerSection, t, f"trainer {i}") for i, t in enumerate(trainers)]
    # the solvers' namelist groups are merged over the defaults, key by key
    for section, cls in (("solver", SolverSection), ("les", LESSection)):
        for group in ("domain", "physics", "time", "sgs", "output"):
            given = data.get(section, {}).get(group)
            if given is not None:
                merged = dict(getattr(cls(), group))
                merged.update(given)
                setattr(getattr(cfg, section), group, merged)
    validate(cfg)
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


def validate(cfg: ExperimentConfig) -> None:
    """Checks that need several values together; raises ConfigError naming the problem."""
    e, db, s, st = cfg.experiment, cfg.database, cfg.solver, cfg.solver.staging
    if e.launcher not in ("local", "slurm", "pbs"):
        raise ConfigError(f"experiment.launcher must be local, slurm or pbs, got {e.launcher!r}")
    if e.time_limit <= 0:
        raise ConfigError("experiment.time_limit must be positive")
    if not 0.5 <= e.log_interval <= 86400:
        raise ConfigError(f"experiment.log_interval must be between 0.5 and 86400 s, got {e.log_interval}")
    if not 0 <= e.stop_grace <= 3600:
        raise ConfigError(f"experiment.stop_grace must be between 0 and 3600 s, got {e.stop_grace}")
    if any(c in e.prefix for c in " {}"):
        raise ConfigError(f"experiment.prefix {e.prefix!r} must not contain spaces or braces")
    if not 1 <= db.port <= 65535:
        raise ConfigError(f"database.port {db.port} is not a port number")
    if db.threads_per_queue < 1 or db.retention < 0:
        raise ConfigError("database.threads_per_queue must be >= 1 and database.retention >= 0")
    if db.retention_max_lag < 0:
        raise ConfigError(f"database.retention_max_lag must be >= 0, got {db.retention_max_lag}")
    if db.persist not in ("none", "rdb", "aof"):
        raise ConfigError(f"database.persist must be none, rdb or aof, got {db.persist!r}")
    if s.ranks < 1:
        raise ConfigError(f"solver.ranks must be at least 1, got {s.ranks}")
    for group in ("domain", "physics", "time", "sgs", "output"):
        for key in getattr(s, group):
            if key not in NAMELIST_KEYS[group]:
                raise ConfigError(f"unknown key '{key}' in [solver.{group}] (known: "
                                  f"{', '.join(NAMELIST_KEYS[group])})")
    if "dir" in s.output:
        raise ConfigError("solver.output.dir is set by the driver (use --out)")
    restart = s.output.get("restart_file")
    if restart and not Path(restart).is_file():
        raise ConfigError(f"solver.output.restart_file not found: {restart}")
    try:
        n = [int(s.domain.get(k, 32)) for k in ("nx", "ny", "nz")]
    except (TypeError, ValueError):
        raise ConfigError(f"solver.domain: nx, ny, nz must be integers, got {s.domain}") from None
    if n[1] % s.ranks or n[2] % s.ranks:
        raise ConfigError(f"solver.ranks = {s.ranks} does not divide the grid ny = {n[1]}, "
                          f"nz = {n[2]} (slab decomposition)")
    if st.policy not in ("block", "drop_oldest"):
        raise ConfigError(f"solver.staging.policy must be block or drop_oldest, got {st.policy!r}")
    if st.fields not in ("uvw", "uvwp"):
        raise ConfigError(f"solver.staging.fields must be uvw or uvwp, got {st.fields!r}")
    if st.snapshot_every < 0 or st.sgs_every < 0 or st.sgs_samples < 0 or st.queue_mb <= 0:
        raise ConfigError("solver.staging cadences and sample counts must be >= 0 and queue_mb > 0")
    if st.sgs_every and st.sgs_width not in (2, 4):
        raise ConfigError(f"solver.staging.sgs_width must be 2 or 4, got {st.sgs_width}")
    if st.sgs_every and (n[0] % st.sgs_width or n[1] % st.sgs_width
                         or (n[2] // s.ranks) % st.sgs_width):
        raise ConfigError(f"solver.staging.sgs_width = {st.sgs_width} does not divide each "
                          f"rank's block {n[0]} x {n[1]} x {n[2] // s.ranks}")
    names = [t.name for t in cfg.trainer]
    if len(set(names)) != len(names):
        raise ConfigError(f"trainer names must differ, got {names}")
    for t in cfg.trainer:
        if not t.name or any(c in t.name for c in " /\\{}.") or t.name.startswith("-"):
            raise ConfigError(f"trainer name {t.name!r} must be a plain word (no spaces, "
                              "slashes, dots or braces)")
        if t.max_steps < 0 or t.extra_steps < 0:
            raise ConfigError(f"trainer {t.name!r}: max_steps and extra_steps must be >= 0")
        if t.ranks < 1 or not t.hidden or any((not isinstance(h, int)) or h < 1 for h in t.hidden):
            raise ConfigError(f"trainer {t.name!r}: ranks >= 1 and positive integer hidden widths")
        if t.lr <= 0 or t.batch < 1:
            raise ConfigError(f"trainer {t.name!r}: lr must be positive and batch >= 1")
        if min(t.steps_per_round, t.report_every, t.publish_every, t.val_every) < 1:
            raise ConfigError(f"trainer {t.name!r}: steps_per_round, report_every, "
                              "publish_every and val_every must be at least 1")
    les = cfg.les
    if les.enabled:
        if les.ranks < 1 or les.wait_for_version < 0:
            raise ConfigError("les.ranks must be >= 1 and les.wait_for_version >= 0")
        for group in ("domain", "physics", "time", "sgs", "output"):
            for key in getattr(les, group):
                if key not in NAMELIST_KEYS[group]:
                    raise ConfigError(f"unknown key '{key}' in [les.{group}] (known: "
                                      f"{', '.join(NAMELIST_KEYS[group])})")
        if "dir" in les.output or "restart_file" in les.output:
            raise ConfigError("les.output.dir is set by the driver; les.output.restart_file is "
                              "not supported")
        if "model_key" in les.sgs:
            raise ConfigError("les.sgs.model_key is set by the driver (the trainers' "
                              "<prefix>sgs_model)")
        model = str(les.sgs.get("model", "learned")).lower()
        if model not in ("none", "smagorinsky", "learned"):
            raise ConfigError(f"les.sgs.model must be none, smagorinsky or learned, got {model!r}")
        if model == "learned" and les.wait_for_version and not cfg.trainer:
            raise ConfigError("les.wait_for_version needs a [[trainer]] that stores the model")
        if les.trainer and les.trainer not in [t.name for t in cfg.trainer]:
            raise ConfigError(f"les.trainer {les.trainer!r} is not the name of a [[trainer]] "
                              f"(known: {', '.join(t.name for t in cfg.trainer) or 'none'})")
        try:
            m = [int(les.domain.get(k, 32)) for k in ("nx", "ny", "nz")]
        except (TypeError, ValueError):
            raise ConfigError(f"les.domain: nx, ny, nz must be integers, got {les.domain}") from None
        if m[1] % les.ranks or m[2] % les.ranks:
            raise ConfigError(f"les.ranks = {les.ranks} does not divide the grid ny = {m[1]}, "
                              f"nz = {m[2]} (slab decomposition)")
    if cfg.trainer and not (st.enabled and st.sgs_every):
        raise ConfigError("trainers need SGS samples: set solver.staging.enabled = true and "
                          "solver.staging.sgs_every > 0")

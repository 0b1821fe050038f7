"""The experiment's SmartSim entities and their run settings, for every launcher: the one
module that turns the configuration and the placement (eddylearn.placement) into what each
entity runs and where.

- local: the solver under the launcher of its MPI (eddylearn.launch), a trainer under
  torch.distributed.run on this machine, consumers as plain processes;
- slurm: one ``srun`` step per entity with its nodes, tasks per node, CPUs per task and node
  list, CPUs held exclusively (``--exact``); a trainer's ranks are the step's tasks and meet
  through torch.distributed's rendezvous at its first node;
- pbs: one ``mpirun`` per entity with its hosts and tasks per node, the hosts of the
  allocation divided between the entities as on Slurm.
"""
from __future__ import annotations

import sys
import zlib
from pathlib import Path

from . import launch
from ._paths import solver_executable
from .config import CONSUMERS, ExperimentConfig, les_model_key, trainer_model_key
from .io import write_namelist
from .placement import Allocation, Place

#: the port of a trainer's rendezvous at its first node, offset by a hash of its name
RENDEZVOUS_PORT = 29400


def solver_groups(cfg: ExperimentConfig, out: Path) -> dict:
    """The solver's namelist groups: the configured ones, the driver's output folder, staging."""
    s = cfg.solver
    st = s.staging
    return {
        "domain": dict(s.domain), "physics": dict(s.physics), "time": dict(s.time),
        "sgs": dict(s.sgs),
        "output": {**s.output, "dir": str(out), "verbose": True},
        "staging": {"enabled": st.enabled, "snapshot_every": st.snapshot_every,
                    "fields": st.fields, "sgs_every": st.sgs_every, "sgs_width": st.sgs_width,
                    "sgs_samples": st.sgs_samples, "queue_mb": st.queue_mb,
                    "policy": st.policy, "handover": st.handover,
                    "prefix": cfg.experiment.prefix},
    }


def les_groups(cfg: ExperimentConfig, out: Path) -> dict:
    """The LES's namelist groups: its own grid and SGS model (the trainers' key), no staging."""
    les = cfg.les
    return {"domain": dict(les.domain), "physics": dict(les.physics), "time": dict(les.time),
            "sgs": {**les.sgs, "model_key": cfg.experiment.prefix + les_model_key(cfg)},
            "output": {**les.output, "dir": str(out), "verbose": True}}


class Settings:
    """Run settings for one launcher kind, with the placement of each entity (batch kinds)
    and the environment every entity gets (the database's address for a database SmartSim
    does not start)."""

    def __init__(self, exp, kind: str, places: dict[str, Place] | None = None,
                 alloc: Allocation | None = None, env: dict | None = None):
        self.exp, self.kind = exp, kind
        self.places = places or {}
        self.alloc = alloc
        self.env = dict(env or {})

    def _placed(self, key: str, exe: str, args: list[str], env: dict):
        """A batch step for the entity `key` as placed."""
        p = self.places[key]
        env = {**self.env, **env}
        if self.kind == "slurm":
            rs = self.exp.create_run_settings(exe=exe, exe_args=args, run_command="srun",
                                              env_vars=env)
            rs.set_nodes(len(p.nodes))
            rs.set_tasks(p.tasks)
            rs.set_tasks_per_node(p.tasks_per_node)
            rs.set_cpus_per_task(p.cpus_per_task)
            rs.set_hostlist(p.nodes)
            rs.run_args["exact"] = None     # its own CPUs only: steps never starve each other
            return rs
        # pbs: Open MPI's mpirun inside the allocation, on the entity's hosts
        rs = self.exp.create_run_settings(exe=exe, exe_args=args, run_command="mpirun",
                                          env_vars=env)
        rs.set_tasks(p.tasks)
        rs.set_tasks_per_node(p.tasks_per_node)
        rs.set_hostlist(p.nodes)
        rs.set_cpus_per_task(p.cpus_per_task)
        return rs

    def solver(self, key: str, nml: Path, ranks: int, env: dict | None = None):
        env = {**(env or {}), launch.NRANKS_VAR: str(ranks)}
        if self.kind == "local":
            # the launcher of the solver's MPI (eddylearn.launch), started as the entity's
            # program
            cmd = launch.command(ranks)
            return self.exp.create_run_settings(
                exe=cmd[0], exe_args=cmd[1:] + [str(solver_executable()), str(nml)],
                run_command="", env_vars={**self.env, **env})
        return self._placed(key, str(solver_executable()), [str(nml)], env)

    def python(self, key: str, args: list[str], env: dict | None = None):
        """A Python consumer: one process."""
        if self.kind == "local":
            return self.exp.create_run_settings(exe=sys.executable, exe_args=args,
                                                env_vars={**self.env, **(env or {})})
        return self._placed(key, sys.executable, args, env or {})

    def trainer(self, key: str, name: str, ranks: int, module_args: list[str]):
        """A DDP trainer: torch.distributed.run on this machine (local), else one task per
        rank meeting at the rendezvous of the step's first node."""
        if self.kind == "local":
            args = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                    str(ranks)] + module_args
            return self.python(key, args)
        head = self.places[key].nodes[0]
        port = RENDEZVOUS_PORT + zlib.crc32(name.encode()) % 500
        env = {"MASTER_ADDR": self.alloc.address(head), "MASTER_PORT": str(port)}
        rs = self._placed(key, sys.executable, module_args, env)
        if self.kind == "slurm":
            rs.run_args["kill-on-bad-exit"] = "1"   # a rank that fails ends its peers
        return rs


def build_entities(exp, cfg: ExperimentConfig, out: Path, settings: Settings) -> dict:
    """SmartSim models for the solver and every enabled consumer (not started)."""
    prefix = cfg.experiment.prefix
    solver_dir = out / "solver"
    solver_dir.mkdir(parents=True, exist_ok=True)
    nml = write_namelist(solver_dir / "input.nml", solver_groups(cfg, solver_dir))
    rs = settings.solver("solver", nml, cfg.solver.ranks)
    entities = {"solver": exp.create_model("solver", rs, path=str(solver_dir))}
    if cfg.les.enabled:
        les_dir = out / "les"
        les_dir.mkdir(parents=True, exist_ok=True)
        nml = write_namelist(les_dir / "input.nml", les_groups(cfg, les_dir))
        # the LES ranks wait on the database while it runs the model: let them yield the core
        entities["les"] = exp.create_model("les", settings.solver(
            "les", nml, cfg.les.ranks, {"OMPI_MCA_mpi_yield_when_idle": "1"}),
            path=str(les_dir))

    for t in cfg.trainer:
        tdir = out / "trainers" / t.name
        tdir.mkdir(parents=True, exist_ok=True)
        args = ["-m", "eddylearn.consumers.trainer", "--name", t.name, "--prefix", prefix,
                "--out", str(tdir), "--hidden", ",".join(map(str, t.hidden)),
                "--activation", t.activation, "--lr", str(t.lr),
                "--batch", str(t.batch), "--steps-per-round", str(t.steps_per_round),
                "--report-every", str(t.report_every),
                "--publish-every", str(t.publish_every), "--val-every", str(t.val_every),
                "--max-steps", str(t.max_steps), "--seed", str(t.seed), "--no-resume",
                "--renormalise-drift", str(t.renormalise_drift),
                "--model-key", trainer_model_key(cfg, t.name)]
        key = f"trainer:{t.name}"
        entities[key] = exp.create_model(
            f"trainer_{t.name}", settings.trainer(key, t.name, t.ranks, args), path=str(tdir))
    for name in CONSUMERS:
        section = getattr(cfg, name)
        if not section.enabled:
            continue
        cdir = out / name
        cdir.mkdir(parents=True, exist_ok=True)
        args = ["-m", f"eddylearn.consumers.{name}", "--prefix", prefix, "--out", str(cdir)]
        options = dict(section.options)
        if name == "analyser":
            # the analyser's dissipation uses the solver's viscosity; the Re = 1600 TGV has a
            # reference to compare with live
            nu = float(cfg.solver.physics.get("nu", 1 / 1600))
            options.setdefault("nu", nu)
            if (str(cfg.solver.physics.get("initial", "tgv3d")).lower() == "tgv3d"
                    and abs(nu * 1600 - 1) < 1e-9):
                options.setdefault("tgv", True)
        for key, value in options.items():
            flag = f"--{key.replace('_', '-')}"
            if isinstance(value, bool):
                args += [flag] if value else []
            else:
                args += [flag, str(value)]
        entities[name] = exp.create_model(name, settings.python(name, args), path=str(cdir))
    return entities

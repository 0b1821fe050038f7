"""Where each entity of an experiment runs inside a batch allocation (Slurm or PBS).

The allocation is read from the environment the batch system gives a job (Slurm:
``SLURM_JOB_ID``, ``SLURM_JOB_NODELIST``, ``SLURM_JOB_CPUS_PER_NODE``; PBS: ``PBS_JOBID``,
``PBS_NODEFILE``). Defaults, for what ``[launcher.<entity>]`` leaves at 0:

- the database takes ``database.shards`` nodes of its own, one shard per node, with every CPU
  of those nodes, when the allocation has more nodes than shards; otherwise it shares the
  nodes, one CPU per shard;
- the solver's ranks are spread over the other nodes (the compute nodes), as evenly as they
  go, one CPU each; the LES likewise;
- each trainer's ranks are spread over the compute nodes, one rank per node while there are
  nodes enough;
- each consumer (analyser, compressor, visualiser) is one task on one compute node, taken
  in turn from the last.

Every step is given its CPUs exclusively (Slurm's ``--exact``), so a step never takes the CPUs
another one needs; a plan that needs more CPUs on a node than the node has is refused before
anything starts, since its steps would wait for each other for ever.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from .config import CONSUMERS, ExperimentConfig, Placement


class PlacementError(RuntimeError):
    """The allocation is missing or too small for the experiment; the message says why."""


@dataclass
class Allocation:
    kind: str                  # slurm | pbs
    nodes: list[str]
    cpus: dict[str, int]       # CPUs of each node given to the job
    job_id: str = ""

    def address(self, node: str) -> str:
        """The address other nodes reach `node` at: Slurm's NodeAddr, else its name."""
        if self.kind == "slurm" and shutil.which("scontrol"):
            try:
                out = subprocess.run(["scontrol", "show", "node", node], capture_output=True,
                                     text=True, timeout=30).stdout
            except (OSError, subprocess.TimeoutExpired):
                out = ""
            m = re.search(r"\bNodeAddr=(\S+)", out)
            if m:
                return m.group(1)
        return node


@dataclass
class Place:
    """One entity's step: its nodes, task count, tasks per node and CPUs per task."""
    nodes: list[str]
    tasks: int
    tasks_per_node: int
    cpus_per_task: int = 1
    env: dict = field(default_factory=dict)

    def per_node(self) -> dict[str, int]:
        """CPUs this step takes on each of its nodes (tasks fill the nodes in order)."""
        used, left = {}, self.tasks
        for n in self.nodes:
            k = min(self.tasks_per_node, left)
            left -= k
            used[n] = k * self.cpus_per_task
        return used


def _expand_slurm_cpus(text: str) -> list[int]:
    """SLURM_JOB_CPUS_PER_NODE ("4(x3),2") as one count per node."""
    counts = []
    for part in text.split(","):
        m = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
        if m:
            counts += [int(m.group(1))] * int(m.group(2) or 1)
    return counts


def current_allocation(kind: str) -> Allocation:
    """The batch allocation this process runs in, or PlacementError saying how to get one."""
    if kind == "slurm":
        job = os.environ.get("SLURM_JOB_ID")
        if not job:
            raise PlacementError(
                "launcher 'slurm' runs the experiment's steps inside a Slurm allocation, and "
                "this process is in none (SLURM_JOB_ID is unset): run `eddylearn run` inside "
                "`salloc` or in an `sbatch` script (see examples/experiments/slurm_job.sh)")
        if not shutil.which("srun") or not shutil.which("scontrol"):
            raise PlacementError("launcher 'slurm': srun or scontrol is not on PATH")
        nodelist = os.environ.get("SLURM_JOB_NODELIST") or os.environ.get("SLURM_NODELIST", "")
        try:
            nodes = subprocess.run(["scontrol", "show", "hostnames", nodelist],
                                   capture_output=True, text=True, timeout=30,
                                   check=True).stdout.split()
        except (OSError, subprocess.SubprocessError) as exc:
            raise PlacementError(f"could not read the allocation's nodes ({nodelist}): "
                                 f"{exc}") from None
        counts = _expand_slurm_cpus(os.environ.get("SLURM_JOB_CPUS_PER_NODE", ""))
        if len(counts) != len(nodes):
            counts = [int(os.environ.get("SLURM_CPUS_ON_NODE", "1"))] * len(nodes)
        return Allocation("slurm", nodes, dict(zip(nodes, counts)), job)
    if kind == "pbs":
        job = os.environ.get("PBS_JOBID")
        nodefile = os.environ.get("PBS_NODEFILE")
        if not job or not nodefile:
            raise PlacementError(
                "launcher 'pbs' runs the experiment inside a PBS allocation, and this process "
                "is in none (PBS_JOBID or PBS_NODEFILE is unset): run `eddylearn run` in a "
                "`qsub` script (see examples/experiments/pbs_job.sh) or `qsub -I`")
        try:
            lines = [ln.strip() for ln in open(nodefile, encoding="utf-8") if ln.strip()]
        except OSError as exc:
            raise PlacementError(f"could not read PBS_NODEFILE {nodefile}: {exc}") from None
        nodes = list(dict.fromkeys(lines))
        return Allocation("pbs", nodes, {n: lines.count(n) for n in nodes}, job)
    raise PlacementError(f"no allocation for launcher {kind!r}")


def _spread(name: str, ranks: int, want: Placement, pool: list[str], start: int = 0) -> Place:
    """`ranks` tasks over the nodes of `pool` (from index `start`), as `want` asks."""
    if want.nodes and want.nodes > len(pool):
        raise PlacementError(f"launcher.{name}.nodes = {want.nodes}, but only {len(pool)} "
                             f"node(s) are free for it ({', '.join(pool)})")
    if want.tasks_per_node:
        count = want.nodes or math.ceil(ranks / want.tasks_per_node)
    else:
        count = want.nodes or min(len(pool), ranks)
    count = max(1, min(count, ranks))
    if count > len(pool):
        raise PlacementError(f"{name}: {ranks} ranks at {want.tasks_per_node} per node need "
                             f"{count} nodes, but only {len(pool)} are free for it")
    per = want.tasks_per_node or math.ceil(ranks / count)
    if per * count < ranks:
        raise PlacementError(f"{name}: {count} node(s) x {per} task(s) per node hold fewer "
                             f"than its {ranks} ranks")
    nodes = [pool[(start + i) % len(pool)] for i in range(count)]
    return Place(nodes, ranks, per, want.cpus_per_task or 1)


def plan(cfg: ExperimentConfig, alloc: Allocation) -> dict[str, Place]:
    """The place of each entity: keys database, solver, les, trainer:NAME, analyser, ..."""
    lc, shards = cfg.launcher, cfg.database.shards
    nodes = alloc.nodes
    if shards > len(nodes):
        raise PlacementError(f"database.shards = {shards} needs {shards} nodes (one shard per "
                             f"node), and the allocation has {len(nodes)}: {', '.join(nodes)}")
    own = len(nodes) > shards
    db_nodes = nodes[:shards]
    compute = nodes[shards:] if own else nodes
    db_cpus = lc.database.cpus_per_task or (min(alloc.cpus[n] for n in db_nodes) if own else 1)
    places = {"database": Place(db_nodes, shards, 1, db_cpus)}
    places["solver"] = _spread("solver", cfg.solver.ranks, lc.solver, compute)
    if cfg.les.enabled:
        places["les"] = _spread("les", cfg.les.ranks, lc.les, compute)
    for t in cfg.trainer:
        places[f"trainer:{t.name}"] = _spread(f"trainer.{t.name}", t.ranks,
                                              lc.trainer.get(t.name, Placement()), compute)
    turn = 0
    for name in CONSUMERS:
        if getattr(cfg, name).enabled:
            want = getattr(lc, name)
            places[name] = _spread(name, 1, want, compute, start=len(compute) - 1 - turn)
            turn += 1
    check_cpus(places, alloc)
    return places


def check_cpus(places: dict[str, Place], alloc: Allocation) -> None:
    """Refuse a plan whose steps need more CPUs on a node than the job has there."""
    used: dict[str, list[str]] = {}
    total: dict[str, int] = {}
    for key, p in places.items():
        for node, cpus in p.per_node().items():
            if node not in alloc.cpus:
                raise PlacementError(f"{key} is placed on {node}, which is not in the "
                                     f"allocation ({', '.join(alloc.nodes)})")
            total[node] = total.get(node, 0) + cpus
            used.setdefault(node, []).append(f"{key.replace(':', ' ')} {cpus}")
    over = [n for n in total if total[n] > alloc.cpus[n]]
    if over:
        n = over[0]
        raise PlacementError(
            f"node {n} would need {total[n]} CPUs ({', '.join(used[n])}) but the job has "
            f"{alloc.cpus[n]} there: the steps would wait for each other; ask for more nodes "
            f"or CPUs, or set [launcher.<entity>] nodes, tasks_per_node and cpus_per_task")


def describe(places: dict[str, Place]) -> list[str]:
    """One line per entity: where it runs."""
    return [f"{key.replace(':', ' '):<18s} {p.tasks} task(s) on {', '.join(p.nodes)} "
            f"({p.tasks_per_node} per node, {p.cpus_per_task} CPU(s) each)"
            for key, p in places.items()]

"""The experiment and the solver under a real Slurm: a private cluster of five nodes emulated
on this machine (network namespaces, each with its own address, host name and slurmd), with
accounting for SmartSim's Slurm launcher. The database is SmartSim's clustered Orchestrator
on three nodes, the trainer's two ranks on two other nodes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from eddylearn import solver

pytestmark = pytest.mark.slurm

EXPERIMENT = """
[experiment]
name = "tiny-slurm"
time_limit = 400.0
log_interval = 5.0
[launcher]
kind = "slurm"
[launcher.trainer.trainer]
nodes = 2
[database]
shards = 3
interface = "eth0"
retention = 20
[solver]
ranks = 2
[solver.domain]
nx = 16
ny = 16
nz = 16
[solver.time]
t_end = 100.0
max_steps = 40
[solver.staging]
snapshot_every = 10
sgs_every = 2
sgs_width = 2
[[trainer]]
name = "trainer"
ranks = 2
publish_every = 50
steps_per_round = 10
extra_steps = 100
# about 200 optimizer steps in all: the wider network halves the loss in them (the default,
# one hidden layer of 32, learns more slowly per step)
hidden = [64, 64]
[analyser]
enabled = true
"""

NAMELIST = """&domain nx = 16, ny = 16, nz = 16 /
&time t_end = 100.0, max_steps = 12 /
&output dir = '{out}', diag_every = 1 /
"""


def _sacct_steps(cluster, job: str) -> list[tuple[str, str]]:
    """(step name, node list) of each step of a job (a heterogeneous step has one line per
    component), from the accounting."""
    out = subprocess.run(["sacct", "-j", job, "--noheader", "-p", "--format=JobName,NodeList"],
                         capture_output=True, text=True, timeout=60, env=cluster.env()).stdout
    return [tuple(ln.split("|")[:2]) for ln in out.splitlines() if "|" in ln]


def _nodes_of(steps, prefix: str) -> list[str]:
    """The node lists of the steps whose SmartSim name (entity-RUNID) starts with prefix."""
    return sorted(nodes for name, nodes in steps if name.startswith(prefix + "-"))


def _sbatch(cluster, script: Path, nodes: int, timeout: float) -> tuple[str, subprocess.CompletedProcess]:
    proc = subprocess.run(["sbatch", "--wait", "--parsable", f"--nodes={nodes}",
                           "--ntasks-per-node=4", f"--output={script.parent / 'job.log'}",
                           str(script)], capture_output=True, text=True, timeout=timeout,
                          env=cluster.env(solver.child_env()), cwd=script.parent)
    return proc.stdout.strip().split(";")[0], proc


def test_experiment_on_five_nodes_with_three_shards_and_a_two_node_trainer(slurm_cluster,
                                                                           tmp_path):
    """`eddylearn run` in an sbatch job: SmartSim's clustered Orchestrator on n1-n3, the
    solver and the trainer's two DDP ranks over n4 and n5, every step exclusive; the report
    is complete and the trainer learned from samples that went through the cluster."""
    cfg = tmp_path / "exp.toml"
    cfg.write_text(EXPERIMENT)
    out = tmp_path / "out"
    script = tmp_path / "job.sh"
    script.write_text(f"#!/bin/bash\nset -e\n{sys.executable} -m eddylearn run {cfg} "
                      f"--out {out} --quiet\n")
    job, proc = _sbatch(slurm_cluster, script, nodes=5, timeout=540)
    log = (tmp_path / "job.log").read_text() if (tmp_path / "job.log").exists() else ""
    assert proc.returncode == 0, proc.stderr[-2000:] + log[-4000:]
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"] == "completed", log[-3000:]
    assert set(report["status"].values()) == {"Completed"}, report["status"]
    assert report["solver"]["steps"] == 40
    placement = json.loads((out / "placement.json").read_text())
    assert placement["database"]["nodes"] == ["n1", "n2", "n3"]
    assert placement["trainer:trainer"]["nodes"] == ["n4", "n5"]
    assert placement["solver"]["nodes"] == ["n4", "n5"]
    trainer = json.loads((out / "trainers" / "trainer" / "trainer.json").read_text())
    assert trainer["world_size"] == 2 and trainer["version"] >= 2
    losses = [h["train_loss"] for h in trainer["history"]]
    assert losses[-1] < 0.5 * losses[0]
    assert report["analyser"]["snapshots"] == 5
    # the accounting: three shards on three nodes, the trainer's step over two
    steps = _sacct_steps(slurm_cluster, job)
    assert _nodes_of(steps, "trainer_trainer") == ["n[4-5]"], steps
    assert _nodes_of(steps, "solver") == ["n[4-5]"], steps
    assert _nodes_of(steps, "orchestrator_0") in (["n1", "n2", "n3"], ["n[1-3]"]), steps
    # the lists, read back through the cluster client at the end, hold every entry
    # (retention = 20 steps may trim the oldest once every reader has passed them: each entry is
    # in its list or counted as removed, never lost silently)
    removed = report["retention_removed"]
    assert {k: n + removed[k] for k, n in report["lists_at_end"].items()} == \
        {"snapshots": 10, "sgs_samples": 42}, (report["lists_at_end"], removed)


def test_solve_through_srun_in_an_allocation(slurm_cluster, tmp_path):
    """`eddylearn solve --np 2` inside salloc launches the solver with srun (no --launcher
    given), its two ranks on two nodes."""
    nml = tmp_path / "input.nml"
    nml.write_text(NAMELIST.format(out=tmp_path))
    proc = subprocess.run(["salloc", "--nodes=2", "--ntasks=2", sys.executable,
                           "-m", "eddylearn", "solve", str(nml), "--np", "2", "--quiet"],
                          capture_output=True, text=True, timeout=180,
                          env=slurm_cluster.env(solver.child_env()), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    diag = (tmp_path / "diagnostics.csv").read_text().splitlines()
    assert len(diag) == 1 + 13         # header, step 0 and 12 steps
    job = proc.stderr.split("Granted job allocation")[1].split()[0]
    steps = _sacct_steps(slurm_cluster, job)
    solver_steps = [nodes for name, nodes in steps if name == "eddylearn-solver"]
    assert solver_steps == ["n[1-2]"], steps


def test_outside_an_allocation_the_error_says_to_use_salloc_or_sbatch(tmp_path):
    """launcher = "slurm" with no allocation: one line naming salloc and sbatch, nothing
    started."""
    cfg = tmp_path / "exp.toml"
    cfg.write_text(EXPERIMENT)
    env = {k: v for k, v in solver.child_env().items() if not k.startswith("SLURM_")}
    proc = subprocess.run([sys.executable, "-m", "eddylearn", "run", str(cfg), "--out",
                           str(tmp_path / "out"), "--quiet"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode != 0
    assert "salloc" in proc.stderr and "sbatch" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "smartsim").exists()

#!/bin/bash
# The default experiment on five nodes of a Slurm cluster: a three-shard database (SmartSim's
# clustered Orchestrator) on three nodes of its own, the solver's ranks and the trainer's DDP
# ranks spread over the other two, the analyser beside them. Every step holds its CPUs
# exclusively (srun --exact). See docs/cluster.md.
#SBATCH --job-name=eddylearn
#SBATCH --nodes=5
#SBATCH --ntasks-per-node=8
#SBATCH --time=01:00:00
set -euo pipefail
source "${EDDYLEARN_VENV:-$HOME/eddylearn/.venv}/bin/activate"
cat > cluster.toml <<TOML
[experiment]
name = "tgv-slurm"
time_limit = 3300.0
[launcher]
kind = "slurm"
[launcher.trainer.trainer]
nodes = 2                 # one DDP rank on each of two nodes (gloo on CPU, NCCL on GPUs)
[database]
shards = 3                # one shard per node: nodes 1-3 of the allocation
interface = "ib0"         # the nodes' network interface (hsn0, eth0, ...)
[solver]
ranks = 8
[[trainer]]
name = "trainer"
ranks = 2
TOML
eddylearn run cluster.toml --out "$SLURM_SUBMIT_DIR/out-$SLURM_JOB_ID" --quiet

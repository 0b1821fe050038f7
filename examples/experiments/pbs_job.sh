#!/bin/bash
# The default experiment on five nodes of a PBS cluster, as slurm_job.sh does on Slurm:
# SmartSim's PBS launcher, each entity started with Open MPI's mpirun on the hosts
# eddylearn gives it from $PBS_NODEFILE (database on three hosts of its own). See
# docs/cluster.md; this script has not been run on a PBS cluster.
#PBS -N eddylearn
#PBS -l select=5:ncpus=8:mpiprocs=8
#PBS -l walltime=01:00:00
#PBS -j oe
set -euo pipefail
cd "$PBS_O_WORKDIR"
source "${EDDYLEARN_VENV:-$HOME/eddylearn/.venv}/bin/activate"
cat > cluster.toml <<TOML
[experiment]
name = "tgv-pbs"
time_limit = 3300.0
[launcher]
kind = "pbs"
[launcher.trainer.trainer]
nodes = 2
[database]
shards = 3
interface = "ib0"
[solver]
ranks = 8
[[trainer]]
name = "trainer"
ranks = 2
TOML
eddylearn run cluster.toml --out "$PBS_O_WORKDIR/out-${PBS_JOBID%%.*}" --quiet

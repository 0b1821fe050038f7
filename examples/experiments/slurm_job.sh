#!/bin/bash
# The same experiment on a Slurm cluster: database, solver and trainer on separate nodes.
# SmartSim's Slurm launcher places each entity in the allocation; eddylearn passes the
# launcher through (experiment.launcher = "slurm"), and the solver runs with srun.
#SBATCH --job-name=eddylearn
#SBATCH --nodes=3
#SBATCH --ntasks-per-node=32
#SBATCH --time=01:00:00
set -euo pipefail
source "$HOME/eddylearn/.venv/bin/activate"
cat > slurm.toml <<TOML
[experiment]
name = "tgv-slurm"
launcher = "slurm"
time_limit = 3300.0
[database]
interface = "ib0"
[solver]
ranks = 32
[solver.domain]
nx = 256
ny = 256
nz = 256
[[trainer]]
name = "trainer"
ranks = 4
TOML
eddylearn run slurm.toml --out "$SLURM_SUBMIT_DIR/out-$SLURM_JOB_ID" --quiet

"""Record which MPI the solver was built with: eddylearn/_mpi.json, read by eddylearn.launch.

usage: mpi_record.py SOLVER_EXE OUT.json key=value...   (family, launcher, launcher_path, wrapper)
The MPI libraries are the solver's own dynamic dependencies (readelf -d), so the record says
what the executable will load, whichever wrapper produced it.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys


def needed(exe: str) -> list[str]:
    try:
        out = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def main() -> None:
    exe, out = sys.argv[1], sys.argv[2]
    rec = dict(a.split("=", 1) for a in sys.argv[3:])
    libs = needed(exe)
    rec["libmpi"] = [lib for lib in libs if re.match(r"lib(mpi|mpich|mpifort|mpichfort)[._]", lib)]
    with open(out, "w") as f:
        json.dump(rec, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

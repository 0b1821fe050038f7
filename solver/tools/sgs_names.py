"""Write eddylearn/_sgs_models.py from the solver's list of SGS model names (les/names.f90),
so that the Python package reads the one list the solver's namelist check and factory use."""
import re
import sys
from pathlib import Path


def main(src: str, out: str) -> None:
    text = Path(src).read_text()
    m = re.search(r"les_model_names\(\*\)\s*=\s*\[character\(len=\d+\)\s*::(.*?)\]", text, re.S)
    if not m:
        sys.exit(f"{src}: no les_model_names(*) = [character(len=..) :: ...] found")
    names = re.findall(r"'([a-z_0-9]+)'", m.group(1))
    if not names or len(set(names)) != len(names):
        sys.exit(f"{src}: the SGS model names are empty or repeated: {names}")
    Path(out).write_text(
        '"""SGS model names of the solver (generated at build time from solver/src/les/'
        'names.f90)."""\n\nMODEL_NAMES = (' + "".join(f"{n!r}, " for n in names).rstrip(", ")
        + ")\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

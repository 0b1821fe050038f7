"""Generate the f90wrap/f2py sources of the solver's Python extension.

usage: f90wrap_gen.py API.f90 OUTDIR
Writes f90wrap_api.f90, _elsolvermodule.c, _elsolver-f2pywrappers.f and elsolver.py into
OUTDIR; elsolver.py imports the extension relative to its package.
"""
import pathlib
import subprocess
import sys


def main() -> int:
    api, outdir = pathlib.Path(sys.argv[1]).resolve(), pathlib.Path(sys.argv[2])
    outdir.mkdir(parents=True, exist_ok=True)
    f90wrap = [sys.executable, "-c", "import sys; from f90wrap.scripts.main import main; "
               "sys.exit(main())"]
    f2py = [sys.executable, "-c", "import sys; from f90wrap.scripts.f2py_f90wrap import main; "
            "sys.exit(main())"]
    subprocess.run(f90wrap + ["-m", "elsolver", str(api)], cwd=outdir, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(f2py + ["-m", "_elsolver", "--lower", "f90wrap_api.f90"], cwd=outdir,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wrappers = outdir / "_elsolver-f2pywrappers.f"
    if not wrappers.exists():
        wrappers.write_text("")
    py = outdir / "elsolver.py"
    text = py.read_text()
    if "\nimport _elsolver\n" not in text:
        print("f90wrap output changed: no 'import _elsolver' line", file=sys.stderr)
        return 1
    py.write_text(text.replace("\nimport _elsolver\n", "\nfrom . import _elsolver\n", 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

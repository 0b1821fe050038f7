"""Where the installed pieces of eddylearn live."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def solver_executable() -> Path:
    """The MPI solver executable (EDDYLEARN_SOLVER overrides the installed one)."""
    override = os.environ.get("EDDYLEARN_SOLVER")
    path = Path(override) if override else PACKAGE_DIR / "bin" / "eddylearn-solver"
    if not path.is_file():
        raise FileNotFoundError(
            f"solver executable not found at {path}; is eddylearn installed from a built wheel?")
    return path


def stream_executable() -> Path:
    """The STREAM-triad bandwidth probe used by the solver benchmark."""
    path = PACKAGE_DIR / "bin" / "eddylearn-stream"
    if not path.is_file():
        raise FileNotFoundError(f"bandwidth probe not found at {path}")
    return path


def reference_tgv() -> Path:
    """512^3 spectral DNS of the Re = 1600 Taylor-Green vortex (see data/README.md)."""
    return PACKAGE_DIR / "data" / "tgv_re1600_spectral_512.gdiag"


def reference_spectrum() -> Path:
    """The model spectrum of isotropic turbulence used by validate iso-les (data/README.md)."""
    return PACKAGE_DIR / "data" / "spectrum_pope.txt"

"""Compiler and linker flags for building against the installed eddylearn native client.

    python -m eddylearn.client_config --cflags     # -I<include>  (C header)
    python -m eddylearn.client_config --fflags     # -I<include>  (Fortran .mod files)
    python -m eddylearn.client_config --libs       # -L<lib> -Wl,-rpath,<lib> -leddylearn_client
    python -m eddylearn.client_config --pkg-config-path   # folder of eddylearn-client.pc, smartredis.pc,
                                                          # smartredis-fortran.pc
    python -m eddylearn.client_config --prefix     # the folder holding include/, lib/, bin/

Example: gfortran prog.f90 $(python -m eddylearn.client_config --fflags --libs)
or: PKG_CONFIG_PATH=$(python -m eddylearn.client_config --pkg-config-path) pkg-config --libs eddylearn-client

The environment variable EDDYLEARN_CLIENT_PREFIX overrides the location (a folder laid out like
the installed one: include/ and lib/), e.g. for a development build.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PREFIX_ENV = "EDDYLEARN_CLIENT_PREFIX"


def prefix() -> Path:
    """The folder with include/, lib/ and bin/ of the native client."""
    env = os.environ.get(PREFIX_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parent


def include_dir() -> Path:
    return prefix() / "include"


def lib_dir() -> Path:
    return prefix() / "lib"


def pkgconfig_dir() -> Path:
    return lib_dir() / "pkgconfig"


def library() -> Path:
    return lib_dir() / "libeddylearn_client.so"


def put_bench_executable() -> Path:
    """The put-throughput probe (eddylearn-put-bench)."""
    return prefix() / "bin" / "eddylearn-put-bench"


def cflags() -> list[str]:
    return [f"-I{include_dir()}"]


def fflags() -> list[str]:
    return [f"-I{include_dir()}"]


def libs() -> list[str]:
    d = lib_dir()
    return [f"-L{d}", f"-Wl,-rpath,{d}", "-leddylearn_client"]


def check() -> None:
    """Raise FileNotFoundError naming what is missing when the client is not installed."""
    for p in (include_dir() / "eddylearn_client.h", library(), include_dir() / "eddylearn_client.mod"):
        if not p.is_file():
            raise FileNotFoundError(
                f"the eddylearn native client is not installed: {p} is missing "
                f"(build eddylearn, or set {PREFIX_ENV})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eddylearn.client_config",
                                 description="Flags to build C/Fortran codes against the eddylearn client.")
    ap.add_argument("--cflags", action="store_true", help="C preprocessor flags (-I...)")
    ap.add_argument("--fflags", action="store_true", help="Fortran flags (-I... for the .mod files)")
    ap.add_argument("--libs", action="store_true", help="linker flags")
    ap.add_argument("--prefix", action="store_true", help="the client's installation folder")
    ap.add_argument("--pkg-config-path", action="store_true", help="folder of eddylearn-client.pc, smartredis.pc and "
                    "smartredis-fortran.pc")
    a = ap.parse_args(argv)
    try:
        check()
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out: list[str] = []
    if a.prefix:
        out.append(str(prefix()))
    if a.pkg_config_path:
        out.append(str(pkgconfig_dir()))
    if a.cflags:
        out += cflags()
    if a.fflags:
        out += [f for f in fflags() if f not in out]
    if a.libs:
        out += libs()
    if not out:
        ap.print_help()
        return 2
    print(" ".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

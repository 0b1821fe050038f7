#!/usr/bin/env python3
"""Copy the Fortran .mod files of libeddylearn_client to the custom target's outputs.

usage: copy_mods.py BUILD_DIR OUTPUT...   (each OUTPUT's file name is looked up under BUILD_DIR,
in the library's private folder where the compiler wrote it)
"""
import shutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    build = Path(argv[1])
    for out in map(Path, argv[2:]):
        found = [p for p in build.rglob(out.name) if p.resolve() != out.resolve()]
        if not found:
            print(f"copy_mods.py: {out.name} not found under {build}", file=sys.stderr)
            return 1
        shutil.copyfile(found[0], out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

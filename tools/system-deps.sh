#!/usr/bin/env bash
# The system tools and libraries eddylearn builds and runs with.
#   tools/system-deps.sh [PACKAGE...]
# On Debian/Ubuntu with apt and root (or sudo): installs the Debian PACKAGEs that are missing.
# Elsewhere (no apt-get, no root, or EDDYLEARN_NO_APT=1): installs nothing, checks for the tools
# and libraries themselves (the compilers, MPI and FFTW may come from modules), prints each
# missing one with how to get it, and exits 1 if any is missing.
# EDDYLEARN_NEED_MPICH=1 (the test suite's set-up) also needs Debian's MPICH beside the default
# MPI: the wrappers mpifort.mpich and mpiexec.mpich.
set -uo pipefail
PYTHON=${PYTHON:-python3}

can_apt() {
  [ "${EDDYLEARN_NO_APT:-0}" != 1 ] || return 1
  command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || return 1
  [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1
}

if can_apt; then
  missing=""
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  "$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || missing="$missing python3-dev"
  "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 || missing="$missing python3-venv"
  if [ -z "$missing" ]; then echo "Debian packages: all present"; exit 0; fi
  echo "installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
  exit $?
fi

echo "no apt (or EDDYLEARN_NO_APT=1): checking for the tools and libraries instead of installing"
n=0
miss() { echo "  missing: $1 -- $2"; n=$((n + 1)); }
have() { command -v "$1" >/dev/null 2>&1; }

have "${FC:-gfortran}" || miss "Fortran compiler (${FC:-gfortran})" \
  "Debian: gfortran; RHEL: gcc-gfortran; Spack: gcc; conda-forge: gfortran; or module load gcc (set FC for another compiler)"
have "${CC:-cc}" || have gcc || miss "C compiler (${CC:-cc})" \
  "Debian: gcc; RHEL: gcc; conda-forge: c-compiler; or module load gcc"
have "${CXX:-c++}" || have g++ || miss "C++ compiler (${CXX:-c++})" \
  "Debian: g++; RHEL: gcc-c++; conda-forge: cxx-compiler; or module load gcc"
have make || miss make "Debian: make; RHEL: make; conda-forge: make"
have pkg-config || have pkgconf || miss pkg-config \
  "Debian: pkg-config; RHEL: pkgconf-pkg-config; Spack: pkgconf; conda-forge: pkg-config"
if [ -n "${MPIFC:-}" ]; then
  have "$MPIFC" || miss "MPI Fortran wrapper MPIFC=$MPIFC" "not an executable on PATH; module load your MPI"
elif ! have mpifort && ! have mpif90; then
  miss "MPI Fortran wrapper (mpifort)" \
    "Debian: libopenmpi-dev openmpi-bin (or libmpich-dev mpich); RHEL: openmpi-devel (module load mpi); Spack: openmpi or mpich; conda-forge: openmpi-mpifort or mpich-mpifort; or module load <your MPI>"
fi
have mpirun || have mpiexec || have srun || miss "MPI launcher (mpirun, mpiexec or srun)" \
  "comes with the MPI above (Debian: openmpi-bin or mpich)"
pc_has() { have pkg-config && pkg-config --exists "$1"; }
if [ -n "${FFTW_ROOT:-}" ]; then
  ls "$FFTW_ROOT"/lib*/libfftw3.so* >/dev/null 2>&1 \
    || miss "FFTW under FFTW_ROOT=$FFTW_ROOT" "no lib/libfftw3.so there"
else
  pc_has fftw3 || miss "FFTW 3 (pkg-config fftw3, or FFTW_ROOT)" \
    "Debian: libfftw3-dev; RHEL: fftw-devel; Spack: fftw; conda-forge: fftw; or module load fftw"
fi
if [ -n "${HIREDIS_ROOT:-}" ]; then
  [ -f "$HIREDIS_ROOT/include/hiredis/hiredis.h" ] \
    || miss "hiredis under HIREDIS_ROOT=$HIREDIS_ROOT" "no include/hiredis/hiredis.h there"
else
  pc_has hiredis || miss "hiredis (pkg-config hiredis, or HIREDIS_ROOT)" \
    "Debian: libhiredis-dev; RHEL: hiredis-devel (EPEL); Spack: hiredis; conda-forge: hiredis"
fi
have redis-server || miss "redis-server (6 or later, with module support)" \
  "Debian: redis-server; RHEL: redis; Spack: redis; conda-forge: redis-server"
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  2>/dev/null || miss "Python headers for $PYTHON" "Debian: python3-dev; RHEL: python3-devel; or module load python"
"$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 || miss "venv for $PYTHON" "Debian: python3-venv"
if [ "${EDDYLEARN_NEED_MPICH:-0}" = 1 ]; then
  have mpifort.mpich && have mpiexec.mpich || miss "MPICH beside the default MPI (mpifort.mpich, mpiexec.mpich; the tests build against it)" \
    "Debian: mpich libmpich-dev"
fi
if [ "$n" -gt 0 ]; then
  echo "make setup: $n missing; install them (or load their modules) and run it again"
  exit 1
fi
echo "tools and libraries: all present"

# eddylearn: two commands on a fresh Debian 12 machine.
#   make run    set up (Debian packages, .venv, wheel) and run the default online-learning
#               experiment (CONFIG=file.toml for another one) into OUT (default out/)
#   make test   set up and run the test suite
# Helpers: make setup | wheel | bench | validate | clean. Each step is skipped when done.

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
STAMPS     := build/stamps
VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
WHEEL      := dist/eddylearn-$(VERSION)-cp311-cp311-linux_$(shell uname -m).whl
OUT        ?= out
NP         ?= 2
CONFIG     ?=
export PATH := $(CURDIR)/$(BIN):$(PATH)

APT_PACKAGES := gfortran gcc g++ make pkg-config openmpi-bin libopenmpi-dev \
                libfftw3-dev libfftw3-mpi-dev libhiredis-dev redis-server redis-tools
SOURCES := $(shell find solver python database client -type f \
             \( -name '*.f90' -o -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.py' \
                -o -name 'meson.build' -o -name '*.gdiag' -o -name '*.md' -o -name '*.in' \) \
             2>/dev/null) \
           meson.build meson.options pyproject.toml

.PHONY: setup run test wheel bench validate clean

setup: $(STAMPS)/installed

$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
	  || missing="$$missing python3-dev"; \
	$(PYTHON) -c 'import ensurepip' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Debian packages: all present"; fi
	@touch $@

$(STAMPS)/venv: $(STAMPS)/apt requirements-build.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-build.txt
	@touch $@

wheel: $(WHEEL)

$(WHEEL): $(STAMPS)/venv $(SOURCES)
	@mkdir -p dist
	$(BIN)/python -m pip wheel -q --no-build-isolation --no-deps -w dist \
	  -Cbuild-dir=build/wheel .
	@test -f $@ || { echo "expected wheel $@ was not built"; exit 1; }

$(STAMPS)/installed: $(WHEEL)
	$(BIN)/python -m pip install -q "$(WHEEL)[test]"
	$(BIN)/python -m pip install -q --force-reinstall --no-deps "$(WHEEL)"
	@touch $@

run: setup
	$(BIN)/eddylearn run $(CONFIG) --out $(OUT)

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

validate: setup
	@mkdir -p $(OUT)
	$(BIN)/eddylearn validate tg2d --np 1 --json $(OUT)/tg2d_np1.json
	$(BIN)/eddylearn validate tg2d --np 2 --json $(OUT)/tg2d_np2.json
	$(BIN)/eddylearn validate tgv --n 32 --np 2 --json $(OUT)/tgv32.json
	$(BIN)/eddylearn validate tgv --n 64 --np 2 --json $(OUT)/tgv64.json
	$(BIN)/eddylearn validate tgv-les --n 32 --np 2 --json $(OUT)/tgv_les32.json

bench: setup
	@mkdir -p $(OUT)
	$(BIN)/eddylearn bench solver --n 64 --json $(OUT)/bench_solver.json
	$(BIN)/eddylearn bench database --json $(OUT)/bench_database.json
	$(BIN)/eddylearn bench transport --json $(OUT)/bench_transport.json
	$(BIN)/eddylearn bench training --json $(OUT)/bench_training.json
	$(BIN)/eddylearn bench inference --json $(OUT)/bench_inference.json

clean:
	rm -rf build dist $(OUT)

# eddylearn: two commands on a fresh Debian 12 machine.
#   make run    set up (Debian packages, .venv, wheel) and run the default online-learning
#               experiment (CONFIG=file.toml for another one) into OUT (default out/)
#   make test   set up and run the test suite
# Helpers: make setup | wheel | sdist | bench | validate | clean. Each step is skipped when done.
# Without apt or root (a cluster), make setup checks for the tools and libraries instead of
# installing them and says what is missing (docs/install.md).

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
STAMPS     := build/stamps
VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
ARCH       := $(shell uname -m)
# the portable wheel: built, then repaired by auditwheel to the oldest manylinux tag this
# machine's libraries allow, bundling FFTW, hiredis and the Fortran runtime; the MPI and
# libtorch stay the user's (their MPI, the torch wheel)
WHEEL_PLAT ?= manylinux_2_35_$(ARCH)
RAW_WHEEL  := build/dist-raw/eddylearn-$(VERSION)-cp311-cp311-linux_$(ARCH).whl
WHEEL      := dist/eddylearn-$(VERSION)-cp311-cp311-$(WHEEL_PLAT).whl
WHEEL_EXCLUDE := libmpi*.so* libmpich*.so* libtorch*.so* libc10*.so*
SDIST      := dist/eddylearn-$(VERSION).tar.gz
OUT        ?= out
NP         ?= 2
CONFIG     ?=
export PATH := $(CURDIR)/$(BIN):$(PATH)

APT_PACKAGES := gfortran gcc g++ make pkg-config openmpi-bin libopenmpi-dev \
                libfftw3-dev libhiredis-dev redis-server redis-tools
# beside the default MPI, the tests build against Debian's MPICH
APT_TEST_PACKAGES := mpich libmpich-dev cmake
SOURCES := $(shell find solver python database client -type f \
             \( -name '*.f90' -o -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.py' \
                -o -name 'meson.build' -o -name '*.gdiag' -o -name '*.md' -o -name '*.in' \) \
             2>/dev/null) \
           meson.build meson.options pyproject.toml

.PHONY: setup run test test-prereqs wheel sdist bench validate clean

setup: $(STAMPS)/installed

# Debian packages with apt; elsewhere a check of the tools and libraries (tools/system-deps.sh)
$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@PYTHON=$(PYTHON) tools/system-deps.sh $(APT_PACKAGES)
	@touch $@

# what only the tests need: MPICH beside the default MPI
$(STAMPS)/apt-test: $(STAMPS)/apt
	@PYTHON=$(PYTHON) EDDYLEARN_NEED_MPICH=1 tools/system-deps.sh $(APT_PACKAGES) $(APT_TEST_PACKAGES)
	@touch $@

test-prereqs: $(STAMPS)/apt-test

$(STAMPS)/venv: $(STAMPS)/apt requirements-build.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-build.txt
	@touch $@

wheel: $(WHEEL)

$(RAW_WHEEL): $(STAMPS)/venv $(SOURCES)
	@mkdir -p $(dir $@)
	$(BIN)/python -m pip wheel -q --no-build-isolation --no-deps -w $(dir $@) \
	  -Cbuild-dir=build/wheel .
	@test -f $@ || { echo "expected wheel $@ was not built"; exit 1; }

$(WHEEL): $(RAW_WHEEL)
	@mkdir -p dist
	$(BIN)/auditwheel repair --plat $(WHEEL_PLAT) $(foreach x,$(WHEEL_EXCLUDE),--exclude '$(x)') \
	  -w dist $<
	@test -f $@ || { echo "expected wheel $@ was not written"; exit 1; }

# the source distribution (git-tracked files): pip builds it against the MPI it finds
sdist: $(SDIST)

$(SDIST): $(STAMPS)/venv $(SOURCES)
	@mkdir -p dist
	$(BIN)/python -c 'import mesonpy; mesonpy.build_sdist("dist")'
	@test -f $@ || { echo "expected source distribution $@ was not written"; exit 1; }

$(STAMPS)/installed: $(WHEEL)
	$(BIN)/python -m pip install -q "$(WHEEL)[test]"
	$(BIN)/python -m pip install -q --force-reinstall --no-deps "$(WHEEL)"
	$(BIN)/eddylearn smartsim setup
	@touch $@

run: setup
	$(BIN)/eddylearn run $(CONFIG) --out $(OUT)

test: setup test-prereqs
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

validate: setup
	@mkdir -p $(OUT)
	$(BIN)/eddylearn validate tg2d --np 1 --json $(OUT)/tg2d_np1.json
	$(BIN)/eddylearn validate tg2d --np 2 --json $(OUT)/tg2d_np2.json
	$(BIN)/eddylearn validate tgv --n 32 --np 2 --json $(OUT)/tgv32.json
	$(BIN)/eddylearn validate tgv --n 64 --np 2 --json $(OUT)/tgv64.json
	-$(BIN)/eddylearn validate tgv-les --n 32 --np 2 --workdir $(OUT)/tgv_les32 --json $(OUT)/tgv_les32.json
	$(BIN)/eddylearn validate iso-les --n 32 --np 2 --model $(OUT)/tgv_les32/sgs_model.pt \
	  --json $(OUT)/iso_les32.json

bench: setup
	@mkdir -p $(OUT)
	$(BIN)/eddylearn bench solver --n 64 --json $(OUT)/bench_solver.json
	$(BIN)/eddylearn bench database --json $(OUT)/bench_database.json
	$(BIN)/eddylearn bench transport --json $(OUT)/bench_transport.json
	$(BIN)/eddylearn bench training --json $(OUT)/bench_training.json
	$(BIN)/eddylearn bench inference --json $(OUT)/bench_inference.json

clean:
	rm -rf build dist $(OUT)

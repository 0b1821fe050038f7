"""SmartRedis 0.6.1's Fortran API (smartredis_* modules, libsmartredis-fortran): the test program
programs/srftest.f90 and the examples in examples/smartredis/fortran, built with the installed
smartredis-fortran pkg-config module, against a real database (standalone and a 3-shard
cluster); everything they write is read back by the genuine SmartRedis Python client and the
reverse. Value of the element with 0-based column-major index k: k*0.5-3 (reals), k-5
(integers)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from clienttest import PROGRAMS, REPO, _client_config, _compile, run

EX = REPO / "examples" / "smartredis" / "fortran"
DTYPES = {"double": np.float64, "float": np.float32, "int8": np.int8, "int16": np.int16,
          "int32": np.int32, "int64": np.int64}


def expected(shape, dtype):
    k = np.arange(int(np.prod(shape))).reshape(shape, order="F")
    v = k * 0.5 - 3.0 if np.dtype(dtype).kind == "f" else k - 5
    # C order: SmartRedis's Python client sends an array's memory as it lies
    return np.ascontiguousarray(v.astype(dtype))


def pkg_flags() -> list[str]:
    env = dict(os.environ, PKG_CONFIG_PATH=str(_client_config().pkgconfig_dir()))
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "smartredis-fortran"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.fixture(scope="module")
def srftest(tmp_path_factory, client_prefix) -> Path:
    out = tmp_path_factory.mktemp("srftest")
    exe = out / "srftest"
    _compile(["gfortran", "-O1", "-g", str(PROGRAMS / "srftest.f90"), "-J", str(out), "-o", str(exe),
              *pkg_flags()])
    return exe


@pytest.fixture(scope="module")
def torch_files(tmp_path_factory) -> Path:
    """model.pt (TorchScript, y = 2x + 1) and script.txt (triple) for the model tests."""
    import torch

    class Affine(torch.nn.Module):
        def forward(self, x):
            return 2 * x + 1

    d = tmp_path_factory.mktemp("srftest-models")
    torch.jit.save(torch.jit.script(Affine()), str(d / "model.pt"))
    (d / "script.txt").write_text("def triple(x):\n    return x * 3\n")
    return d


def tag() -> str:
    return "f" + uuid.uuid4().hex[:8]


def test_fortran_writes_python_reads(db, srftest):
    t = tag()
    run(srftest, "write", t, env=db.env())
    sr = db.smartredis()
    for rank, shape in {1: (7,), 2: (3, 5), 3: (2, 3, 4), 4: (2, 3, 1, 5), 5: (2, 2, 3, 1, 2)}.items():
        got = sr.get_tensor(f"{t}.double_{rank}")
        np.testing.assert_array_equal(got, expected(shape, np.float64))
    for name, dtype in DTYPES.items():
        got = sr.get_tensor(f"{t}.{name}_2")
        assert got.dtype == dtype, name
        np.testing.assert_array_equal(got, expected((3, 5), dtype))
    np.testing.assert_array_equal(sr.get_tensor(f"{t}.section"), expected((3, 5), np.float64)[0::2])
    assert not sr.tensor_exists(f"{t}.bad")

    ds = sr.get_dataset(f"{t}.ds")
    np.testing.assert_array_equal(ds.get_tensor("u"), expected((3, 5), np.float64))
    np.testing.assert_array_equal(ds.get_tensor("k"), expected((7,), np.int32))
    np.testing.assert_array_equal(ds.get_meta_scalars("md"), [1.5, 2.5])
    assert ds.get_meta_scalars("md").dtype == np.float64
    assert ds.get_meta_scalars("mf").dtype == np.float32 and ds.get_meta_scalars("mf")[0] == 0.25
    assert ds.get_meta_scalars("mi").dtype == np.int32 and ds.get_meta_scalars("mi")[0] == 7
    assert ds.get_meta_scalars("ml").dtype == np.int64 and ds.get_meta_scalars("ml")[0] == 2**40
    assert ds.get_meta_strings("ms") == ["hello", "world"]

    assert sr.get_list_length(f"{t}.list") == 3
    items = sr.get_datasets_from_list(f"{t}.list")
    assert [int(d.get_tensor("v")[0]) for d in items] == [0, 10, 20]
    assert [int(d.get_meta_scalars("i")[0]) for d in items] == [0, 1, 2]
    assert sr.get_script(f"{t}.script") == "def double(x):\n    return x * 2\n"


def test_python_writes_fortran_reads(db, srftest, torch_files):
    t = tag()
    sr = db.smartredis()
    for name, dtype in DTYPES.items():
        sr.put_tensor(f"{t}.py_{name}", expected((3, 5), dtype))
    from smartredis import Dataset
    ds = Dataset(f"{t}.pyds")
    ds.add_tensor("u", expected((3, 5), np.float64))
    for v in (1.5, 2.5):
        ds.add_meta_scalar("md", np.float64(v))
    ds.add_meta_scalar("mi", np.int32(7))
    ds.add_meta_scalar("ml", np.int64(2**40))
    ds.add_meta_scalar("mf", np.float32(0.25))
    ds.add_meta_string("ms", "text")
    sr.put_dataset(ds)
    for i in range(4):
        item = Dataset(f"{t}.pyitem{i}")
        item.add_tensor("v", np.array([100 * i], dtype=np.int64))
        sr.put_dataset(item)
        sr.append_to_list(f"{t}.pylist", item)
    sr.set_model_from_file(f"{t}.model", str(torch_files / "model.pt"), "TORCH", "CPU")
    sr.set_script_from_file(f"{t}.pyscript", str(torch_files / "script.txt"), "CPU")

    run(srftest, "read", t, torch_files, env=db.env())

    model = (torch_files / "model.pt").read_bytes()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for name in ("fmodel", "bmodel"):     # stored by the Fortran program, run from Python
        assert sr.get_model(f"{t}.{name}") == model
        sr.put_tensor(f"{t}.px", x)
        sr.run_model(f"{t}.{name}", [f"{t}.px"], [f"{t}.py"])
        np.testing.assert_array_equal(sr.get_tensor(f"{t}.py"), 2 * x + 1)
    assert sr.get_script(f"{t}.fscript") == (torch_files / "script.txt").read_text()
    assert not sr.model_exists(f"{t}.gone")
    np.testing.assert_array_equal(sr.get_tensor(f"{t}.y"),
                                  2 * np.arange(1, 7, dtype=np.float32).reshape(2, 3, order="F") + 1)


def test_copies_renames_polls_and_errors(db, srftest):
    t = tag()
    r = run(srftest, "ops", t, env=db.env())
    sr = db.smartredis()
    np.testing.assert_array_equal(sr.get_tensor(f"{t}.t3"), [1.0, 2.0, 3.0, 4.0])
    assert not sr.tensor_exists(f"{t}.t2") and not sr.tensor_exists(f"{t}.gone")
    d3 = sr.get_dataset(f"{t}.d3")
    np.testing.assert_array_equal(d3.get_tensor("a"), [1.0, 2.0, 3.0, 4.0])
    assert d3.get_meta_strings("note") == ["copied"]
    assert not sr.dataset_exists(f"{t}.d2") and not sr.dataset_exists(f"{t}.dgone")
    assert sr.get_list_length(f"{t}.l3") == 3 and sr.get_list_length(f"{t}.l") == 3
    assert [int(d.get_meta_scalars("i")[0]) for d in sr.get_datasets_from_list(f"{t}.l3")] == [1, 2, 3]
    # the codes of failed calls are SmartRedis's (SRTypeError 9, SRKeyError 7 / SRDatabaseError 2)
    assert "wrong type code 9" in r.stdout, r.stdout
    code = int(r.stdout.split("missing dataset code ")[1].split()[0])
    assert code in (2, 7), r.stdout


def test_ensemble_prefixes(db, srftest, monkeypatch):
    t = tag()
    run(srftest, "prefix", t, env=db.env(SSKEYOUT="producer", SSKEYIN="producer,other"))
    sr = db.smartredis()    # no prefixes: the tensor under its stored key
    np.testing.assert_array_equal(sr.get_tensor(f"producer.{t}.pt"), [5.0, 6.0, 7.0])
    assert not sr.tensor_exists(f"{t}.pt")
    # a SmartRedis Python consumer of the ensemble member "producer" finds everything
    monkeypatch.setenv("SSKEYIN", "producer,other")
    cons = db.smartredis()
    cons.set_data_source("producer")
    for use in (cons.use_tensor_ensemble_prefix, cons.use_dataset_ensemble_prefix,
                cons.use_list_ensemble_prefix):
        use(True)
    np.testing.assert_array_equal(cons.get_tensor(f"{t}.pt"), [5.0, 6.0, 7.0])
    np.testing.assert_array_equal(cons.get_dataset(f"{t}.pds").get_tensor("a"), [5.0, 6.0, 7.0])
    assert cons.get_list_length(f"{t}.pl") == 1
    assert sr.get_list_length(f"{t}.pl") == 0 and not sr.dataset_exists(f"{t}.pds")


def test_config_options(db, srftest):
    t = tag()
    env = db.env(SSDB_SRF=db.address, SR_DB_TYPE_SRF=db.env()["SR_DB_TYPE"], EL_TEST_INT_SRF="42",
                 SSDB="127.0.0.1:1")   # the unsuffixed address is wrong: the options must be used
    run(srftest, "config", "SRF", t, env=env)
    np.testing.assert_array_equal(db.smartredis().get_tensor(f"{t}.cfg"), [3.5, 4.5])


def test_logging(standalone_db, srftest, tmp_path):
    log = tmp_path / "sr.log"
    run(srftest, "log", env=standalone_db.env(SR_LOG_FILE=str(log), SR_LOG_LEVEL="INFO"))
    text = log.read_text()
    for line, context in (("client info line", "srftest"), ("dataset warning line", "logds"),
                          ("logcontext error line", "ctx_one"), ("string context line", "strctx")):
        hits = [ln for ln in text.splitlines() if line in ln]
        assert len(hits) == 1 and context in hits[0], text
    assert "client debug line" not in text and "developer line" not in text


def test_multigpu_calls(standalone_db, srftest, torch_files):
    t = tag()
    r = run(srftest, "multigpu", t, torch_files, env=standalone_db.env())
    codes = {ln.rsplit(" ", 1)[0]: int(ln.rsplit(" ", 1)[1]) for ln in r.stdout.splitlines()
             if "multigpu " in ln}
    assert len(codes) == 8, r.stdout
    # the test database has no GPU: every call is refused by the database (SRDatabaseError), as
    # the genuine client's calls are, and nothing is left under SmartRedis's per-GPU names
    assert set(codes.values()) == {2}, r.stdout
    sr = standalone_db.smartredis()
    model = (torch_files / "model.pt").read_bytes()
    with pytest.raises(Exception):
        sr.set_model_multigpu(f"{t}.pymgm", model, "TORCH", 0, 2)
    for name in ("mgm", "mgf", "pymgm"):
        assert not sr.model_exists(f"{t}.{name}.GPU:0") and not sr.model_exists(f"{t}.{name}.GPU:1")


def test_examples_producer_under_mpi_and_consumer(standalone_db, client_prefix, tmp_path):
    """The Fortran producer on 2 MPI ranks, the Fortran consumer and the Python client agree."""
    from eddylearn import launch
    if shutil.which("mpifort") is None:
        pytest.fail("mpifort is missing (make test-prereqs installs MPI)")
    for name in ("producer", "consumer"):
        shutil.copy(EX / f"{name}.f90", tmp_path)
    r = subprocess.run(["make", "-C", str(tmp_path), "-f", str(EX / "Makefile"), f"PYTHON={sys.executable}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    env = standalone_db.env()
    p = subprocess.run(launch.command(2) + [str(tmp_path / "producer"), "3"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    sr = standalone_db.smartredis()
    np.testing.assert_array_equal(sr.get_tensor("config"), [2, 3])
    assert sr.get_list_length("fields") == 6
    i, j = np.meshgrid(np.arange(1, 9), np.arange(1, 5), indexing="ij")
    total = 0.0
    for ds in sr.get_datasets_from_list("fields"):
        rank, step = int(ds.get_meta_scalars("rank")[0]), int(ds.get_meta_scalars("step")[0])
        u = ds.get_tensor("u")
        np.testing.assert_allclose(u, 100 * rank + step + 0.01 * (i + 10 * j), rtol=0, atol=1e-12)
        assert ds.get_meta_strings("source") == ["fortran"]
        total += u.sum()
    c = subprocess.run([str(tmp_path / "consumer"), "6"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert c.returncode == 0 and "consumer: 6 datasets" in c.stdout, c.stdout + c.stderr
    summary = sr.get_tensor("summary")
    assert summary[0] == 6 and abs(summary[1] - total) < 1e-9

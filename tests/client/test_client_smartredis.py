"""The SmartRedis 0.6.1 C and C++ APIs (libsmartredis, pkg-config module smartredis): test
programs written in SmartRedis's API (programs/srtest.c, programs/srtest.cpp), built with the
installed pkg-config module as a user would, run against one shard and the 3-shard cluster and
compared value for value with the genuine SmartRedis Python client."""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from clienttest import PROGRAMS, _client_config, _compile, run

TYPES = {"DOUBLE": np.float64, "FLOAT": np.float32, "INT8": np.int8, "INT16": np.int16,
         "INT32": np.int32, "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16}


def pkg_config(*args: str) -> list[str]:
    cc = _client_config()
    env = dict(os.environ, PKG_CONFIG_PATH=str(cc.pkgconfig_dir()))
    r = subprocess.run(["pkg-config", *args, "smartredis"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.fixture(scope="module")
def sr_programs(tmp_path_factory) -> dict:
    """srtest (C) and srtest_cpp (C++), compiled once per session with pkg-config smartredis."""
    _client_config().check()
    out = tmp_path_factory.mktemp("smartredis-programs")
    flags = pkg_config("--cflags", "--libs")
    _compile(["gcc", "-std=c11", "-O1", str(PROGRAMS / "srtest.c"), "-o", str(out / "srtest"), *flags])
    _compile(["g++", "-std=c++17", "-O1", str(PROGRAMS / "srtest.cpp"), "-o", str(out / "srtest_cpp"),
              *flags])
    return {"c": out / "srtest", "cpp": out / "srtest_cpp"}


def value(name: str, shape) -> np.ndarray:
    """The test tensors of srtest.c: j*0.5-3 (reals), j-5 (signed), j+1 (unsigned)."""
    j = np.arange(int(np.prod(shape)), dtype=np.float64)
    v = j * 0.5 - 3 if name in ("DOUBLE", "FLOAT") else (j - 5 if name.startswith("INT") else j + 1)
    return v.astype(TYPES[name]).reshape(shape)


def torch_model() -> bytes:
    """A TorchScript model y = x + 1."""
    import torch
    fn = torch.jit.script(_add_one)
    b = io.BytesIO()
    torch.jit.save(fn, b)
    return b.getvalue()


def _add_one(x):
    return x + 1.0


SCRIPT = "def double(x):\n    return x * 2\n"


def check_dataset(ds) -> None:
    """The dataset of make_dataset() in srtest.c, read with SmartRedis."""
    np.testing.assert_array_equal(ds.get_tensor("a"), np.array([[1, -2], [3, -4]], np.int32))
    assert ds.get_tensor("a").dtype == np.int32
    np.testing.assert_array_equal(ds.get_tensor("b"), np.arange(5) + 0.5)
    assert list(ds.get_meta_scalars("md")) == [1.5, 2.5]
    assert ds.get_meta_scalars("mf").dtype == np.float32 and ds.get_meta_scalars("mf")[0] == 0.25
    assert ds.get_meta_scalars("mi32").dtype == np.int32 and ds.get_meta_scalars("mi32")[0] == -7
    assert ds.get_meta_scalars("mi64")[0] == 1 << 40
    assert ds.get_meta_scalars("mu32").dtype == np.uint32 and ds.get_meta_scalars("mu32")[0] == 4000000000
    assert ds.get_meta_scalars("mu64").dtype == np.uint64 and ds.get_meta_scalars("mu64")[0] == 1 << 63
    assert ds.get_meta_strings("ms") == ["alpha", "beta"]


def python_dataset(name: str):
    from smartredis import Dataset
    ds = Dataset(name)
    ds.add_tensor("a", np.array([[1, -2], [3, -4]], np.int32))
    ds.add_tensor("b", np.arange(5) + 0.5)
    for v in (1.5, 2.5):
        ds.add_meta_scalar("md", np.float64(v))
    ds.add_meta_scalar("mf", np.float32(0.25))
    ds.add_meta_scalar("mi32", np.int32(-7))
    ds.add_meta_scalar("mi64", np.int64(1 << 40))
    ds.add_meta_scalar("mu32", np.uint32(4000000000))
    ds.add_meta_scalar("mu64", np.uint64(1 << 63))
    ds.add_meta_string("ms", "alpha")
    ds.add_meta_string("ms", "beta")
    return ds


def test_c_writes_python_reads(db, sr_programs):
    run(sr_programs["c"], "write", "cw", env=db.env())
    c = db.smartredis()
    for name, dt in TYPES.items():
        got = c.get_tensor(f"cw_{name}")
        assert got.dtype == dt and got.shape == (3, 4), name
        np.testing.assert_array_equal(got, value(name, (3, 4)), err_msg=name)
    np.testing.assert_array_equal(c.get_tensor("cw_fortran"), 10 * np.arange(3)[:, None] + np.arange(4))
    np.testing.assert_array_equal(c.get_tensor("cw_nested"), np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    check_dataset(c.get_dataset("cw_ds"))
    entries = c.get_datasets_from_list("cw_list")
    assert [int(d.get_tensor("x")[0]) for d in entries] == [0, 1, 2]
    assert c.get_script("cw_script") == SCRIPT


def test_python_writes_c_reads(db, sr_programs, tmp_path):
    from smartredis import Dataset
    c = db.smartredis()
    for name in TYPES:
        c.put_tensor(f"pr_{name}", value(name, (3, 4)))
    c.put_dataset(python_dataset("pr_ds"))
    for i in range(3):
        d = Dataset(f"pr_l{i}")
        d.add_tensor("x", np.array([i], np.int64))
        c.put_dataset(d)
        c.append_to_list("pr_list", d)
    model = torch_model()
    c.set_model("pr_model", model, "TORCH", "CPU")
    c.set_script("pr_script", SCRIPT, "CPU")
    (tmp_path / "model.pt").write_bytes(model)
    (tmp_path / "script.txt").write_text(c.get_script("pr_script"))
    run(sr_programs["c"], "read", "pr", tmp_path, env=db.env())
    # the model and script runs of the C program, read back with SmartRedis
    x = np.array([[1, 2, 3, 4]], np.float32)
    np.testing.assert_array_equal(c.get_tensor("pr_mout"), x + 1)
    np.testing.assert_array_equal(c.get_tensor("pr_sout"), x * 2)


def test_c_operations(db, sr_programs):
    run(sr_programs["c"], "ops", "co", env=db.env())
    c = db.smartredis()
    np.testing.assert_array_equal(c.get_tensor("co_c"), [1.0, 2.0, 3.0])
    assert not c.tensor_exists("co_a") and not c.tensor_exists("co_b")
    check_dataset(c.get_dataset("co_ds3"))
    assert not c.dataset_exists("co_ds2") and not c.dataset_exists("co_ds4")
    assert c.get_list_length("co_list3") == 4 and c.get_list_length("co_list2") == 0
    names = [d.get_name() for d in c.get_datasets_from_list("co_list3")]
    assert names == ["co_e0", "co_e1", "co_e2", "co_e2"]
    # the genuine client appending a dataset twice gives the same list
    for i in range(3):
        d = c.get_dataset(f"co_e{i}")
        c.append_to_list("co_sr_list", d)
        if i == 2:
            c.append_to_list("co_sr_list", d)
    assert [d.get_name() for d in c.get_datasets_from_list("co_sr_list")] == names


def _keys(db) -> set[str]:
    import redis
    keys = set()
    for s in db.servers:
        keys |= {k.decode(errors="replace") for k in redis.Redis(port=s.port).keys("*")}
    return keys


PREFIX_SCRIPT = """
import os, sys
import numpy as np
from smartredis import Client, Dataset
tag = sys.argv[1]
c = Client(os.environ["SR_DB_TYPE"] == "Clustered", os.environ["SSDB"])
v = np.array([7.0, 8.0])
c.put_tensor(tag + "_p", v)
c.use_tensor_ensemble_prefix(False)
c.put_tensor(tag + "_np", v)
c.use_tensor_ensemble_prefix(True)
ds = Dataset(tag + "_pds")
ds.add_tensor("t", v)
c.put_dataset(ds)
c.use_dataset_ensemble_prefix(False)
c.put_dataset(ds)
c.use_list_ensemble_prefix(True)
c.use_dataset_ensemble_prefix(True)
c.append_to_list(tag + "_plist", ds)
c.use_model_ensemble_prefix(True)
c.set_script(tag + "_pscript", "def f(x):\\n    return x\\n", "CPU")
"""


def test_prefixes_match_smartredis(db, sr_programs):
    """SSKEYOUT/SSKEYIN and the use_*_ensemble_prefix switches: the C program and SmartRedis,
    doing the same calls, create the same keys (tag aside)."""
    env = db.env(SSKEYOUT="prod", SSKEYIN="prod,other")
    db.smartredis().put_tensor("other.cx_other", np.array([1.0, 2.0]))
    run(sr_programs["c"], "prefix", "cx", env=dict(env, SRTEST_SOURCE="other"))
    c_keys = {k for k in _keys(db) if "cx_" in k and "cx_other" not in k}
    r = subprocess.run([sys.executable, "-c", PREFIX_SCRIPT, "px"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    py_keys = {k for k in _keys(db) if "px_" in k}
    # eddylearn's appends leave one more key per list: the tokens of its recent appends, in the
    # list's hash slot (docs/protocol.md, section 3.2)
    tokens = {k for k in c_keys if k.endswith(".appends")}
    assert len(tokens) == 1 and re.fullmatch(r"\{[^}]+\}\.prod\.cx_plist\.appends", tokens.pop(), re.S)
    c_keys = {k for k in c_keys if not k.endswith(".appends")}
    assert c_keys and {k.replace("cx_", "px_") for k in c_keys} == py_keys
    assert "prod.cx_p" in c_keys and "cx_np" in c_keys and "prod.cx_plist" in c_keys


def test_c_config_options(db, sr_programs):
    env = db.env(SRTEST_INT_SFX="42", SRTEST_STR_SFX="hello", SSDB_SFX=db.address,
                 SR_DB_TYPE_SFX=db.env()["SR_DB_TYPE"])
    run(sr_programs["c"], "config", "SFX", env=env)
    np.testing.assert_array_equal(db.smartredis().get_tensor("srtest_cfg_tensor"), [3.0, 4.0])


LOG_SCRIPT = """
from smartredis import Client, Dataset, LogContext, log_data, log_warning, log_error, LLInfo, LLDebug, LLDeveloper
import os
c = Client(os.environ["SR_DB_TYPE"] == "Clustered", os.environ["SSDB"], logger_name="srtest")
ds = Dataset("logds")
lc = LogContext("logctx")
c.log_data(LLInfo, "client info line")
ds.log_warning(LLInfo, "dataset warning line")
lc.log_error(LLInfo, "context error line")
c.log_data(LLDebug, "client debug line")
c.log_data(LLDeveloper, "developer line")
log_data("strctx", LLInfo, "string context line")
log_warning("strctx", LLInfo, "string warning")
log_error("strctx", LLInfo, "string error")
"""

LINE = re.compile(r"^(.*)@\d\d-\d\d-\d\d:(.*)$")


def _log_lines(path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        assert m, f"not a log line: {line!r}"
        out.append((m.group(1), m.group(2)))
    return out


def test_c_logging_matches_smartredis(db, sr_programs, tmp_path):
    """SR_LOG_FILE / SR_LOG_LEVEL=DEBUG: the same calls give the same lines (time aside) as
    SmartRedis's; the developer-level line is not written."""
    c_log, py_log = tmp_path / "c.log", tmp_path / "py.log"
    run(sr_programs["c"], "log", env=db.env(SR_LOG_FILE=c_log, SR_LOG_LEVEL="DEBUG"))
    r = subprocess.run([sys.executable, "-c", LOG_SCRIPT], capture_output=True, text=True, timeout=120,
                       env=db.env(SR_LOG_FILE=py_log, SR_LOG_LEVEL="DEBUG"))
    assert r.returncode == 0, r.stderr
    ours = [l for l in _log_lines(c_log) if "line" in l[1] or "string" in l[1]]
    theirs = [l for l in _log_lines(py_log) if "line" in l[1] or "string" in l[1]]
    assert ours == theirs
    assert ("srtest", "client debug line") in ours and not any("developer" in t for _, t in ours)


def test_c_multigpu(db, sr_programs, tmp_path):
    """Per-GPU keys <name>.GPU:<i>: on a database without GPUs the stores are refused by the
    database naming the GPU (as RedisAI refuses them); with GPUs they are stored and run."""
    (tmp_path / "model.pt").write_bytes(torch_model())
    r = run(sr_programs["c"], "multigpu", "mg", tmp_path / "model.pt", env=db.env())
    res = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    import torch
    if torch.cuda.is_available():
        assert res["set_model_multigpu"].startswith("0")
        assert res["run_model_multigpu"].startswith("0")
    else:
        for call in ("set_model_multigpu", "set_script_multigpu"):
            code, msg = res[call].split(" ", 1)
            assert code == "2" and "GPU:0" in msg, res[call]
        code, msg = res["run_model_multigpu"].split(" ", 1)
        assert code == "2" and "mg_mg.GPU:1" in msg, msg     # offset 3 of 2 GPUs from 0: GPU 1
        assert not db.smartredis().model_exists("mg_mg.GPU:0")


def test_cpp_write_read(db, sr_programs):
    from smartredis import Dataset
    run(sr_programs["cpp"], "write", "xw", env=db.env())
    c = db.smartredis()
    np.testing.assert_array_equal(c.get_tensor("xw_f"), np.arange(1, 7, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(c.get_tensor("xw_g"), np.array([[1, 3, 5], [2, 4, 6]], np.int16))
    ds = c.get_dataset("xw_ds")
    np.testing.assert_array_equal(ds.get_tensor("a"), np.array([[1, -2], [3, -4]], np.int32))
    assert ds.get_meta_strings("ms") == ["alpha", "beta"] and list(ds.get_meta_scalars("md")) == [1.5, 2.5]
    assert [int(d.get_tensor("x")[0]) for d in c.get_datasets_from_list("xw_list")] == [0, 1, 2]
    # the reverse: SmartRedis writes, the C++ program reads
    c.put_tensor("xr_f", np.arange(1, 7, dtype=np.float32).reshape(2, 3))
    c.put_tensor("xr_g", np.array([[1, 3, 5], [2, 4, 6]], np.int16))
    ds = Dataset("xr_ds")
    ds.add_tensor("a", np.array([[1, -2], [3, -4]], np.int32))
    ds.add_tensor("b", np.arange(5) + 0.5)
    for v in (1.5, 2.5):
        ds.add_meta_scalar("md", np.float64(v))
    ds.add_meta_scalar("mi64", np.int64(1 << 40))
    ds.add_meta_scalar("mu32", np.uint32(4000000000))
    ds.add_meta_string("ms", "alpha")
    ds.add_meta_string("ms", "beta")
    c.put_dataset(ds)
    for i in range(3):
        d = Dataset(f"xr_l{i}")
        d.add_tensor("x", np.array([i], np.int64))
        c.put_dataset(d)
        c.append_to_list("xr_list", d)
    run(sr_programs["cpp"], "read", "xr", env=db.env())


def test_cpp_operations(db, sr_programs):
    r = run(sr_programs["cpp"], "ops", "xo", env=db.env(SR_LOG_LEVEL="INFO", SR_LOG_FILE=os.devnull))
    c = db.smartredis()
    np.testing.assert_array_equal(c.get_tensor("xo_c"), [1.0, 2.0, 3.0])
    assert c.dataset_exists("xo_renamed") and not c.dataset_exists("xo_ds3")
    assert [d.get_name() for d in c.get_dataset_list_range("xo_list", 0, -1)] == [f"xo_v{i}" for i in range(4)]
    assert r.returncode == 0


def test_cpp_admin_matches_smartredis(db, sr_programs, tmp_path):
    """config_get, get_db_node_info, get_db_cluster_info, get_ai_info, save and flush_db against
    one database node, compared with what SmartRedis's Python client reports."""
    (tmp_path / "model.pt").write_bytes(torch_model())
    addr = db.address
    r = run(sr_programs["cpp"], "admin", addr, tmp_path / "model.pt", env=db.env())
    got: dict[str, dict[str, str]] = {}
    for line in r.stdout.splitlines():
        if " " in line and "=" in line:
            kind, kv = line.split(" ", 1)
            k, v = kv.split("=", 1)
            got.setdefault(kind, {})[k] = v
    c = db.smartredis()
    assert got["config"] == c.config_get("maxmemory*", addr)
    info = c.get_db_node_info([addr])[0]
    assert got["info"]["redis_version"] == str(info["Server"]["redis_version"])
    assert got["info"]["tcp_port"] == str(info["Server"]["tcp_port"])
    if db.kind == "cluster":
        ci = c.get_db_cluster_info([addr])[0]
        assert got["cluster"]["cluster_state"] == str(ci["cluster_state"]) == "ok"
        assert got["cluster"]["cluster_known_nodes"] == str(ci["cluster_known_nodes"]) == "3"
    assert got["ai"] == {"type": "MODEL", "backend": "TORCH", "device": "CPU"}
    import redis
    sizes = [redis.Redis(port=s.port).dbsize() for s in db.servers]
    assert sizes[0] == 0, sizes                      # flush_db emptied the node at addr ...
    assert all(n > 0 for n in sizes[1:]), sizes      # ... and only that one (the model is on every shard)


def test_cpp_config_options(db, sr_programs):
    env = db.env(SRTEST_INT_X="42", SRTEST_STR_X="hello", SSDB_X=db.address,
                 SR_DB_TYPE_X=db.env()["SR_DB_TYPE"])
    run(sr_programs["cpp"], "config", "X", env=env)
    np.testing.assert_array_equal(db.smartredis().get_tensor("srtest_cpp_cfg"), [1.0, 2.0])


def test_cpp_compat_with_smartredis_programs(db, sr_programs, tmp_path):
    """What SmartRedis's own example and test programs rely on: a one-dim unpack into contiguous
    memory ({n} for a (3,2,5) tensor, client and dataset), log_data(&client, ...), and
    std::cout & co. reachable through client.h (srtest.cpp does not include <iostream>)."""
    log = tmp_path / "compat.log"
    r = run(sr_programs["cpp"], "compat", "xc", env=db.env(SR_LOG_FILE=log, SR_LOG_LEVEL="INFO"))
    assert r.returncode == 0
    c = db.smartredis()
    want = (np.arange(30) * 0.25 - 1.0).reshape(3, 2, 5)
    np.testing.assert_array_equal(c.get_tensor("xc_t"), want)
    np.testing.assert_array_equal(c.get_dataset("xc_ds").get_tensor("t"), want)
    lines = _log_lines(log)
    assert ("compat_cpp", "compat client line") in lines
    assert ("xc_ds", "WARNING: compat dataset line") in lines


def test_pkg_config_module():
    """The smartredis module points at the installed headers and library; -lsmartredis links."""
    cflags, libs = pkg_config("--cflags"), pkg_config("--libs")
    inc = next(f[2:] for f in cflags if f.startswith("-I"))
    libdir = next(f[2:] for f in libs if f.startswith("-L"))
    for h in ("c_client.h", "c_dataset.h", "c_configoptions.h", "c_logger.h", "c_logcontext.h",
              "sr_enums.h", "srexception.h", "client.h", "dataset.h", "configoptions.h", "logger.h",
              "logcontext.h"):
        assert os.path.isfile(os.path.join(inc, h)), h
    assert os.path.isfile(os.path.join(libdir, "libsmartredis.so"))
    assert "-lsmartredis" in libs


EXAMPLES = PROGRAMS.parent.parent.parent / "examples" / "smartredis"


@pytest.fixture(scope="module")
def sr_examples(tmp_path_factory) -> dict:
    """examples/smartredis/{c,cpp} built with their Makefiles (pkg-config smartredis), in a copy."""
    out = tmp_path_factory.mktemp("smartredis-examples")
    env = dict(os.environ, PKG_CONFIG_PATH=str(_client_config().pkgconfig_dir()))
    for lang in ("c", "cpp"):
        shutil.copytree(EXAMPLES / lang, out / lang)
        r = subprocess.run(["make", "-s", "-C", str(out / lang)], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    return {lang: {p: out / lang / p for p in ("producer", "consumer")} for lang in ("c", "cpp")}


def _run_example(exe, db, n=3) -> str:
    r = subprocess.run([str(exe), str(n)], capture_output=True, text=True, env=db.env(), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _means(out: str) -> list[tuple[int, float]]:
    return [(int(m.group(1)), float(m.group(2))) for m in re.finditer(r"step (\d+) mean ([-\d.]+)", out)]


EXPECTED_MEANS = [(s, s + 0.01 * 63 / 2) for s in range(3)]


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_examples_producer_read_by_smartredis(db, sr_examples, lang):
    _run_example(sr_examples[lang]["producer"], db)
    c = db.smartredis()
    snaps = c.get_datasets_from_list("snapshots")
    assert [int(d.get_meta_scalars("step")[0]) for d in snaps] == [0, 1, 2]
    for s, d in enumerate(snaps):
        np.testing.assert_allclose(d.get_tensor("u"), s + 0.01 * np.arange(64).reshape(8, 8), rtol=0, atol=0)
        assert d.get_meta_scalars("time")[0] == 0.1 * s


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_examples_consumer_reads_smartredis(db, sr_examples, lang):
    from smartredis import Dataset
    c = db.smartredis()
    for s in range(3):
        d = Dataset(f"snapshot_{s}")
        d.add_tensor("u", s + 0.01 * np.arange(64).reshape(8, 8))
        d.add_meta_scalar("step", np.int32(s))
        d.add_meta_scalar("time", np.float64(0.1 * s))
        c.put_dataset(d)
        c.append_to_list("snapshots", d)
    got = _means(_run_example(sr_examples[lang]["consumer"], db))
    assert [g[0] for g in got] == [0, 1, 2]
    np.testing.assert_allclose([g[1] for g in got], [m for _, m in EXPECTED_MEANS], atol=1e-6)


def test_examples_cpp_producer_c_consumer(standalone_db, sr_examples):
    standalone_db.flush()
    _run_example(sr_examples["cpp"]["producer"], standalone_db)
    got = _means(_run_example(sr_examples["c"]["consumer"], standalone_db))
    np.testing.assert_allclose([m for _, m in got], [m for _, m in EXPECTED_MEANS], atol=1e-6)


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
def test_cmake_find_library_smartredis(sr_examples, tmp_path):
    """A CMake build written for SmartRedis (find_library(smartredis), find_path(c_client.h))
    builds the C++ consumer against eddylearn given the prefix."""
    (tmp_path / "CMakeLists.txt").write_text(f"""
cmake_minimum_required(VERSION 3.13)
project(sruser CXX)
set(CMAKE_CXX_STANDARD 17)
find_library(SR_LIB smartredis REQUIRED)
find_path(SR_INCLUDE c_client.h PATH_SUFFIXES smartredis REQUIRED)
add_executable(consumer {EXAMPLES / "cpp" / "consumer.cpp"})
target_include_directories(consumer PRIVATE ${{SR_INCLUDE}})
target_link_libraries(consumer ${{SR_LIB}})
""")
    prefix = str(_client_config().prefix())
    for cmd in (["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "b"), f"-DCMAKE_PREFIX_PATH={prefix}"],
                ["cmake", "--build", str(tmp_path / "b")]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "b" / "consumer").is_file()


def test_c_unix_socket_and_quiet_logging(standalone_db, sr_programs, tmp_path):
    """SSDB=unix:///path works through the SmartRedis API; SR_LOG_LEVEL=QUIET writes nothing."""
    standalone_db.flush()
    log = tmp_path / "quiet.log"
    run(sr_programs["c"], "ops", "ux", env=standalone_db.env(SSDB=f"unix://{standalone_db.servers[0].unix}",
                                                             SR_LOG_LEVEL="QUIET", SR_LOG_FILE=log))
    np.testing.assert_array_equal(standalone_db.smartredis().get_tensor("ux_c"), [1.0, 2.0, 3.0])
    run(sr_programs["c"], "log", env=standalone_db.env(SR_LOG_LEVEL="QUIET", SR_LOG_FILE=log))
    assert not log.exists() or log.read_text() == ""

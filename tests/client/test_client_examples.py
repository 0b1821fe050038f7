"""examples/: the Fortran, C and Python producers feed the same Python consumer."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from clienttest import REPO, _client_config, _compile

EX = REPO / "examples"


def _consume(db, n):
    r = subprocess.run([sys.executable, str(EX / "consumer_python" / "consumer.py"), str(n)],
                       capture_output=True, text=True, env=db.env(), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_three_producers_one_consumer(standalone_db, client_prefix, tmp_path):
    cc = _client_config()
    pf, pc = tmp_path / "pf", tmp_path / "pc"
    _compile(["gfortran", *cc.fflags(), str(EX / "producer_fortran" / "producer.f90"), "-J", str(tmp_path),
              "-o", str(pf), *cc.libs()])
    _compile(["gcc", *cc.cflags(), str(EX / "producer_c" / "producer.c"), "-o", str(pc), *cc.libs(), "-lm"])
    for prod, who in (([str(pf)], "fortran"), ([str(pc)], "c"),
                      ([sys.executable, str(EX / "producer_python" / "producer.py")], "python")):
        standalone_db.flush()
        r = subprocess.run([*prod, "3"], capture_output=True, text=True, env=standalone_db.env(), timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        out = _consume(standalone_db, 3)
        assert out.count(f"from {who}") == 3, out


def test_pkg_config_file_builds_the_c_producer(client_prefix, tmp_path):
    """eddylearn-client.pc is relocatable (prefix from ${pcfiledir}) and sufficient to build."""
    cc = _client_config()
    env = dict(os.environ, PKG_CONFIG_PATH=str(cc.pkgconfig_dir()))
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "eddylearn-client"], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, r.stderr
    flags = r.stdout.split()
    incs = [Path(f[2:]).resolve() for f in flags if f.startswith("-I")]
    assert cc.include_dir().resolve() in incs, flags
    exe = tmp_path / "pc"
    _compile(["gcc", str(EX / "producer_c" / "producer.c"), "-o", str(exe), *flags, "-lm"])
    r = subprocess.run(["ldd", str(exe)], capture_output=True, text=True)
    assert "libeddylearn_client.so" in r.stdout and "not found" not in r.stdout

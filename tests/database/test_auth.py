"""`eddylearn db start` with a password: required off loopback, protected mode kept on, the
default user or an ACL user, and the anonymous data access that lets SmartRedis 0.6.1 clients
(which cannot send a password) work while administration needs the password."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from eddylearn import database
from servers import free_port

PW = 'pa ss"word\\1'  # a space, a quote and a backslash survive the configuration file


@pytest.fixture
def db_env(tmp_path, monkeypatch):
    """A private state folder for `eddylearn db`, and whatever database a test starts stopped."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(database.PASSWORD_ENV, raising=False)
    monkeypatch.delenv(database.USER_ENV, raising=False)
    yield tmp_path
    monkeypatch.setenv(database.PASSWORD_ENV, PW)
    st = database.find()
    if st is not None:
        if st.user:
            monkeypatch.setenv(database.USER_ENV, st.user)
        database.stop()


def test_non_loopback_interface_needs_a_password(db_env):
    with pytest.raises(database.DatabaseError, match="must have a password"):
        database.start(port=free_port(), interface="eth0", run_dir=db_env / "run")
    with pytest.raises(database.DatabaseError, match="need a password"):
        database.start(port=free_port(), user="admin", run_dir=db_env / "run")
    assert database.recorded() == []


def test_password_for_the_default_user(db_env, monkeypatch):
    port = free_port()
    st = database.start(port=port, password=PW, run_dir=db_env / "run")
    assert st.auth and st.kind == "standalone"
    conf = db_env / "run" / "auth.conf"
    assert oct(conf.stat().st_mode & 0o777) == "0o600"
    assert PW not in " ".join(database._cmdline(st.pids[0]).split())  # not on the command line
    anon = redis.Redis(port=port, protocol=2)
    with pytest.raises(redis.AuthenticationError):
        anon.execute_command("AI.TENSORSET", "t", "FLOAT", 1)
    with pytest.raises(redis.AuthenticationError):
        anon.execute_command("SHUTDOWN", "NOSAVE")
    r = redis.Redis(port=port, password=PW, protocol=2)
    assert r.ping()
    assert r.execute_command("AI.TENSORSET", "t", "FLOAT", 1, "VALUES", 2) == b"OK"
    assert r.config_get("protected-mode") == {"protected-mode": "yes"}
    # stop and status need the password from the environment
    with pytest.raises(database.DatabaseError, match=database.PASSWORD_ENV):
        database.status()
    monkeypatch.setenv(database.PASSWORD_ENV, PW)
    assert database.status()["shards"][0]["keys"] == 1
    assert database.stop() is True
    assert not database._pid_alive(st.pids[0])


def test_acl_user_with_anonymous_data(db_env, monkeypatch):
    port = free_port()
    st = database.start(port=port, password=PW, user="admin", anonymous_data=True, run_dir=db_env / "run")
    # SmartRedis 0.6.1 cannot send a password: with --anonymous-data it stores and reads data
    from smartredis import Client
    import numpy as np

    c = Client(address=f"127.0.0.1:{port}", cluster=False)
    c.put_tensor("x", np.arange(4, dtype=np.float32))
    assert c.get_tensor("x").tolist() == [0, 1, 2, 3]
    anon = redis.Redis(port=port, protocol=2)
    for cmd in (["FLUSHALL"], ["SHUTDOWN", "NOSAVE"], ["CONFIG", "SET", "maxmemory", "1"],
                ["AI.CONFIG", "MODEL_CHUNK_SIZE", "10"], ["SAVE"], ["MODULE", "LIST"],
                ["ACL", "SETUSER", "default", "+@all"]):
        with pytest.raises(redis.ResponseError, match="NOPERM|permission"):
            anon.execute_command(*cmd)
    assert anon.exists("x") == 1
    admin = redis.Redis(port=port, username="admin", password=PW, protocol=2)
    assert admin.config_get("maxmemory") is not None
    assert admin.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", "1000") == b"OK"
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, username="admin", password="wrong", protocol=2).ping()
    # the consumers' redis-py connections read the credentials from the environment
    from eddylearn.snapshots import raw_connection
    monkeypatch.setenv("SSDB", f"127.0.0.1:{port}")
    monkeypatch.setenv("SR_DB_TYPE", "Standalone")
    monkeypatch.setenv(database.PASSWORD_ENV, PW)
    monkeypatch.setenv(database.USER_ENV, "admin")
    assert raw_connection().config_get("protected-mode") == {"protected-mode": "yes"}
    # the CLI: status needs the password in the environment
    env = {k: v for k, v in os.environ.items() if k not in (database.PASSWORD_ENV, database.USER_ENV)}
    out = subprocess.run([sys.executable, "-m", "eddylearn", "db", "status"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 2 and database.PASSWORD_ENV in out.stdout
    out = subprocess.run([sys.executable, "-m", "eddylearn", "db", "status"], capture_output=True, text=True,
                         env=dict(env, **{database.PASSWORD_ENV: PW}), timeout=60)
    assert out.returncode == 0 and f"127.0.0.1:{port}  up" in out.stdout, out.stdout + out.stderr
    assert st.pids and database._pid_alive(st.pids[0])

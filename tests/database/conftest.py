"""Fixtures for the database tests: real redis-server processes with the AI module on free
loopback ports, the genuine SmartRedis 0.6.1 client, and redis-py for raw commands.

The module is found through eddylearn.database.module_path() (the installed package, or
$EDDYLEARN_AI_MODULE for a development build)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# the helper modules next to this file (_dbnets, _dbresp) and the shared tests/servers.py
# must import in every pytest import mode, including importlib
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import Cluster, Server  # noqa: E402

os.environ.setdefault("SR_LOG_LEVEL", "QUIET")
os.environ.setdefault("SR_LOG_FILE", "/dev/null")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A shared server (THREADS_PER_QUEUE 2); each test gets it flushed via `r`/`client`."""
    s = Server(tmp_path_factory.mktemp("redis")).start()
    yield s
    s.stop()


@pytest.fixture
def r(server):
    """redis-py connection (RESP2) to the flushed shared server."""
    conn = server.redis()
    conn.flushall()
    yield conn
    assert server.alive(), "the server died during the test"
    conn.close()


@pytest.fixture
def client(server, r):
    """Genuine SmartRedis client, standalone, on the flushed shared server."""
    from smartredis import Client

    return Client(address=server.address, cluster=False)


@pytest.fixture
def new_server(tmp_path):
    """Factory for private servers (restarts, load-time arguments); all stopped at teardown."""
    made = []

    def make(**kw) -> Server:
        s = Server(tmp_path / f"srv{len(made)}", **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.start()
        yield c
    finally:
        c.stop()

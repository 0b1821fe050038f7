"""The C client sends the password of EDDYLEARN_DB_PASSWORD (and EDDYLEARN_DB_USER) on every
connection; a wrong one is reported at once instead of being retried for SR_CONN_TIMEOUT."""
from __future__ import annotations

import time

import redis

from clienttest import Db, Server, free_port, run


def test_c_client_authenticates_from_the_environment(tmp_path, programs):
    srv = Server(tmp_path / "db", free_port())
    srv.extra = ["--user", "default", "off", "--user", "sim", "on", ">s3cret pw", "~*", "&*", "+@all"]
    srv.username, srv.password = "sim", "s3cret pw"
    srv.start()
    try:
        db = Db("standalone", [srv])
        ok = run(programs["ctest"], "c_layout", env=db.env(EDDYLEARN_DB_USER="sim", EDDYLEARN_DB_PASSWORD="s3cret pw"))
        assert "OK" in ok.stdout
        r = redis.Redis(port=srv.port, username="sim", password="s3cret pw", protocol=2)
        assert r.exists("c_int", "c_u16") == 2
        t0 = time.monotonic()
        bad = run(programs["ctest"], "c_layout", env=db.env(EDDYLEARN_DB_USER="sim", EDDYLEARN_DB_PASSWORD="wrong",
                                                            SR_CONN_TIMEOUT=30), check=False)
        assert bad.returncode == 1 and "refused the credentials" in bad.stdout, bad.stdout
        assert time.monotonic() - t0 < 25  # not retried until SR_CONN_TIMEOUT
        none = run(programs["ctest"], "c_layout", env=db.env(SR_CONN_TIMEOUT=1, SR_CONN_INTERVAL=200), check=False)
        assert none.returncode == 1 and ("NOAUTH" in none.stdout or "NOPERM" in none.stdout), none.stdout
    finally:
        srv.stop()

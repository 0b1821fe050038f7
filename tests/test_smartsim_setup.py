"""eddylearn's database as SmartSim's database: after `eddylearn smartsim setup`, SmartSim's
own `smart validate` passes (Torch backend reported and exercised) and an unmodified SmartSim
script launches eddylearn's redis-server and module with exp.create_database() and uses them
through the genuine SmartRedis client."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from eddylearn import database, smartsim_setup
from servers import free_port

BIN = Path(sys.executable).parent


def _env() -> dict:
    """This environment without overrides of SmartSim's own look-up."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SMARTSIM_DEP_INSTALL_PATH", "RAI_PATH", "REDIS_PATH", "REDIS_CLI_PATH",
                        "REDIS_CONF", "SSDB", "SR_DB_TYPE")}
    # SmartSim's public knobs: look for the server's banner and poll jobs every second
    env.update(SMARTSIM_FLAG_TELEMETRY="0", SMARTSIM_DB_FILE_PARSE_INTERVAL="1",
               SMARTSIM_JM_INTERVAL="1")
    return env


@pytest.fixture(scope="module")
def set_up() -> Path:
    """The documented set-up, as a user runs it (idempotent)."""
    r = subprocess.run([str(BIN / "eddylearn"), "smartsim", "setup"], capture_output=True,
                       text=True, env=_env(), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    folder = smartsim_setup.core_folder()
    assert f"from {folder}" in r.stdout
    return folder


def test_setup_puts_a_real_server_and_the_module_where_smartsim_looks(tmp_path, set_up):
    folder = set_up
    server = folder / "bin" / "redis-server"
    assert server.is_file() and not server.is_symlink()
    assert (folder / "lib" / "redisai.so").resolve() == database.module_path()
    assert smartsim_setup.problems(folder) == []
    # SmartSim's own answers, in a fresh process
    probe = ("from smartsim._core.config import CONFIG\n"
             "from smartsim._core.utils.helpers import installed_redisai_backends\n"
             "print(CONFIG.database_exe); print(CONFIG.redisai); "
             "print(sorted(installed_redisai_backends()))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=_env(), timeout=120, check=True).stdout.split("\n")
    assert out[:3] == [str(server), str(database.module_path()), "['torch']"]
    # a folder that is not set up is named by `check`, and set up by `setup --folder`
    r = subprocess.run([str(BIN / "eddylearn"), "smartsim", "check", "--folder", str(tmp_path)],
                       capture_output=True, text=True, env=_env(), timeout=120)
    assert r.returncode == 1 and f"missing: {tmp_path}/bin/redis-server is missing" in r.stdout
    assert "run `eddylearn smartsim setup`" in r.stdout


def test_smart_validate_passes(tmp_path, set_up):
    """SmartSim's own installation check, unmodified: a database through exp.create_database,
    a tensor round trip and a TorchScript model run on the Torch backend. (`smart validate`
    picks a free port itself when --port is not given; the tests pass one from their own
    picker so that no two tests can choose the same.)"""
    r = subprocess.run([str(BIN / "smart"), "validate", "--port", str(free_port())],
                       capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert "Verifying Tensor Transfer" in out and "Verifying Torch Backend" in out, out[-4000:]
    assert "Success!" in out


SCRIPT = textwrap.dedent('''
    import io, sys
    import numpy as np, torch
    from smartredis import Client
    from smartsim import Experiment

    exp = Experiment("plain", exp_path=sys.argv[1], launcher="local")
    db = exp.create_database(port=int(sys.argv[2]), interface="lo")
    exp.generate(db)
    exp.start(db)
    try:
        client = Client(False, db.get_address()[0])
        x = np.arange(12, dtype=np.float32).reshape(3, 4)
        client.put_tensor("x", x)
        assert np.array_equal(client.get_tensor("x"), x)
        net = torch.nn.Linear(4, 2)
        buf = io.BytesIO()
        torch.jit.save(torch.jit.script(net), buf)
        client.set_model("net", buf.getvalue(), "TORCH", "CPU")
        client.run_model("net", inputs=["x"], outputs=["y"])
        expected = net(torch.from_numpy(x)).detach().numpy()
        assert np.allclose(client.get_tensor("y"), expected, rtol=1e-6, atol=1e-6)
        info = client.get_db_node_info([db.get_address()[0]])[0]
        pid = int(info["Server"]["process_id"])
        print("executable", info["Server"]["executable"])
        with open(f"/proc/{pid}/maps") as maps:
            print("mapped", sorted({l.split()[-1] for l in maps if "redisai" in l}))
        print("OK")
    finally:
        exp.stop(db)
''')


def test_an_unmodified_smartsim_script_runs_on_eddylearns_database(tmp_path, set_up):
    (tmp_path / "plain.py").write_text(SCRIPT)
    (tmp_path / "exp").mkdir()
    port = free_port()
    r = subprocess.run([sys.executable, str(tmp_path / "plain.py"), str(tmp_path / "exp"),
                        str(port)], capture_output=True, text=True, cwd=tmp_path, env=_env(),
                       timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "OK" in r.stdout.splitlines(), out[-4000:]
    # the server SmartSim ran is the copy in its bin folder, with eddylearn's module loaded
    folder = smartsim_setup.core_folder()
    assert f"executable {folder / 'bin' / 'redis-server'}" in r.stdout, r.stdout
    assert f"mapped ['{database.module_path()}']" in r.stdout, r.stdout
    assert database.port_free("127.0.0.1", port)          # exp.stop ended it

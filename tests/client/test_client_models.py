"""TorchScript model stored from Python (SmartRedis) and run from Fortran; a script stored and
run from Fortran, checked from Python; one shard and the 3-shard cluster."""
from __future__ import annotations

import io

import numpy as np

from clienttest import run

SCRIPT = '''
def times_three(x):
    return 3 * x
'''


def _affine_model_bytes() -> bytes:
    import torch

    class Affine(torch.nn.Module):
        def forward(self, x):
            return 2 * x + 1

    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(Affine()), buf)
    return buf.getvalue()


def test_model_from_python_run_from_fortran(db, programs):
    c = db.smartredis()
    c.set_model("affine", _affine_model_bytes(), "TORCH", "CPU")
    run(programs["ftest"], "model", "affine", env=db.env())
    # the output is where SmartRedis looks for it, row-major with Fortran dims
    x = np.arange(1, 13, dtype=np.float32).reshape((3, 4), order="F")
    np.testing.assert_allclose(c.get_tensor("model_out"), 2 * x + 1)
    if db.kind == "cluster":  # the .TMP keys are cleaned up
        import redis
        for s in db.servers:
            assert not [k for k in redis.Redis(port=s.port).keys("*") if k.endswith(b".TMP")]


def test_script_from_fortran(db, programs, tmp_path):
    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    run(programs["ftest"], "script", "triple", str(path), env=db.env())
    c = db.smartredis()
    x = np.arange(1, 11, dtype=np.float64).reshape((2, 5), order="F")
    np.testing.assert_allclose(c.get_tensor("script_out"), 3 * x)
    # stored where SmartRedis finds it (shard prefix of the first shard in cluster mode)
    assert SCRIPT.strip() in c.get_script("triple")


def test_model_from_fortran_file_chunked(db, programs, tmp_path):
    """set_model_from_file from Fortran with a small MODEL_CHUNK_SIZE (several BLOB chunks),
    run from Fortran and from SmartRedis."""
    import redis
    path = tmp_path / "affine.pt"
    blob = _affine_model_bytes()
    path.write_bytes(blob)
    chunk = max(256, len(blob) // 4)
    before = [redis.Redis(port=s.port).execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") for s in db.servers]
    for s in db.servers:
        redis.Redis(port=s.port).execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", chunk)
    try:
        run(programs["ftest"], "model_file", "affine_f", str(path), env=db.env())
    finally:
        for s, b in zip(db.servers, before):
            redis.Redis(port=s.port).execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", b)
    c = db.smartredis()
    assert c.model_exists("affine_f")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    c.put_tensor("px", x)
    c.run_model("affine_f", ["px"], ["py"])
    np.testing.assert_allclose(c.get_tensor("py"), 2 * x + 1)

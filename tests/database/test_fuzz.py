"""Fuzz runs: random and malformed AI.* commands, RESTORE payloads mutated from DUMPs of real
tensors, models and scripts, RDB files with mutated values loaded at start-up, and deeply nested
script and model sources. The server stays alive and serving (each command gets exactly one
reply, in order), and its resident memory grows by less than RSS_BOUND over a run.

make test sends 24,000 commands (test_fuzz_commands); the slow suite 100,000 more."""
from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import _rdb as R
from _dbnets import SCRIPT, to_bytes, traced_mlp
from _dbresp import Resp, RespError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WORDS = ["INPUTS", "OUTPUTS", "BLOB", "VALUES", "META", "SOURCE", "TAG", "TIMEOUT", "BATCHSIZE",
         "MINBATCHSIZE", "MINBATCHTIMEOUT", "ENTRY_POINTS", "KEYS", "ARGS", "$", "RESETSTAT", "GET",
         "MODEL_CHUNK_SIZE", "BACKENDSPATH", "LOADBACKEND", "TORCH", "TF", "ONNX", "TFLITE", "CPU", "GPU",
         "GPU:0", "CPU:1", "FLOAT", "DOUBLE", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "BOOL",
         "STRING", "add_mul", "scale_all", "entry", "forward"]
NUMBERS = ["-1", "0", "1", "2", "3", "6", "7", "64", "100", "99999999999", "18446744073709551616",
           "1e3", "0x10", "", " ", "nan", "-inf", "3.5"]
KEYS = ["t", "x6", "i8", "mlp", "scr", "h", "missing", "out", "o2", b"{\x00\x00}.k", b"\xff\xfe"]
COMMANDS = ["AI.TENSORSET", "AI.TENSORGET", "AI.MODELSTORE", "AI.MODELGET", "AI.MODELDEL",
            "AI.MODELEXECUTE", "AI.SCRIPTSET", "AI.SCRIPTSTORE", "AI.SCRIPTGET", "AI.SCRIPTDEL",
            "AI.SCRIPTRUN", "AI.SCRIPTEXECUTE", "AI.INFO", "AI.CONFIG"]


def templates(blob: bytes) -> list[list]:
    f = np.ones(12, np.float32).tobytes()
    return [
        ["AI.TENSORSET", "t", "FLOAT", 2, 6, "BLOB", f * 4],
        ["AI.TENSORSET", "t", "INT8", 3, "VALUES", 1, 2, 3],
        ["AI.TENSORGET", "x6", "META", "BLOB"],
        ["AI.TENSORGET", "i8", "VALUES"],
        ["AI.MODELSTORE", "mlp2", "TORCH", "CPU", "TAG", "v", "BATCHSIZE", 2, "MINBATCHSIZE", 1, "BLOB", blob],
        ["AI.MODELSTORE", "tf", "TF", "CPU", "INPUTS", 1, "a", "OUTPUTS", 1, "b", "BLOB", b"x"],
        ["AI.MODELGET", "mlp", "META"],
        ["AI.MODELDEL", "mlp2"],
        ["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x6", "OUTPUTS", 1, "out", "TIMEOUT", 1000],
        ["AI.SCRIPTSET", "scr2", "CPU", "TAG", "t", "SOURCE", SCRIPT],
        ["AI.SCRIPTSTORE", "scr3", "CPU", "ENTRY_POINTS", 1, "entry", "SOURCE", SCRIPT],
        ["AI.SCRIPTGET", "scr", "SOURCE"],
        ["AI.SCRIPTDEL", "scr2"],
        ["AI.SCRIPTRUN", "scr", "add_mul", "INPUTS", "x6", "x6", "OUTPUTS", "out", "o2"],
        ["AI.SCRIPTRUN", "scr", "scale_all", "TIMEOUT", 100, "INPUTS", "$", "x6", "x6", "OUTPUTS", "out"],
        ["AI.SCRIPTEXECUTE", "scr", "entry", "KEYS", 1, "x6", "INPUTS", 1, "x6", "ARGS", 1, "2", "OUTPUTS", 1, "o2"],
        ["AI.INFO", "mlp"],
        ["AI.INFO", "scr", "RESETSTAT"],
        ["AI.CONFIG", "GET", "MODEL_CHUNK_SIZE"],
        ["AI.CONFIG", "MODEL_CHUNK_SIZE", 4096],
    ]


def random_token(rng: random.Random):
    pick = rng.random()
    if pick < 0.3:
        return rng.choice(WORDS)
    if pick < 0.55:
        return rng.choice(NUMBERS)
    if pick < 0.8:
        return rng.choice(KEYS)
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))


def mutate(cmd: list, rng: random.Random) -> list:
    cmd = list(cmd)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.3 and len(cmd) > 1:
            del cmd[rng.randrange(1, len(cmd))]
        elif op < 0.6 and len(cmd) > 1:
            cmd[rng.randrange(1, len(cmd))] = random_token(rng)
        elif op < 0.8:
            cmd.insert(rng.randint(1, len(cmd)), random_token(rng))
        else:
            cmd = cmd[: rng.randint(1, len(cmd))]
    return cmd


def random_command(rng: random.Random) -> list:
    return [rng.choice(COMMANDS)] + [random_token(rng) for _ in range(rng.randint(0, 12))]


RSS_BOUND = 256 << 20  # resident memory growth allowed between warm-up and the end of a run
ADDRESS_SPACE = 8 << 30  # fuzzed servers' RLIMIT_AS: a runaway allocation fails in the server


def rss(server) -> int:
    """Resident memory of the server process in bytes."""
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def mutate_dump(body: bytes, rng: random.Random) -> bytes:
    """A module value with bytes flipped, replaced, inserted, removed or cut (never the type
    byte: values of Redis's own types are Redis's business)."""
    b = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randrange(1, max(2, len(b)))
        if op < 0.3 and len(b) > 1:
            b[min(pos, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op < 0.5 and len(b) > 1:
            b[min(pos, len(b) - 1)] = rng.choice([0, 1, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xFF])
        elif op < 0.65:
            b[pos:pos] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 9)))
        elif op < 0.8:
            del b[pos:pos + rng.randint(1, 9)]
        elif op < 0.9:
            b = b[:pos]
        else:
            b[pos:pos] = b[pos:pos + rng.randint(1, 64)]
    return bytes(b)


def restore_mutant(bodies: list[bytes], rng: random.Random) -> list:
    body = mutate_dump(rng.choice(bodies), rng)
    payload = R.dump_payload(body)
    if rng.random() < 0.05:  # a wrong checksum is refused by Redis itself
        payload = payload[:-1] + bytes([payload[-1] ^ 1])
    key = rng.choice(["t", "i8", "mlp", "scr", "rst", "rst2", "missing"])
    return ["RESTORE", key, 0, payload, "REPLACE"] if rng.random() < 0.7 else ["RESTORE", key, 0, payload]


def seed_values(r, blob: bytes) -> list[bytes]:
    """Stores the fixtures of a run; returns DUMP bodies of a tensor, a model and a script."""
    r.hset("h", "f", "v")
    r.execute_command("AI.TENSORSET", "x6", "FLOAT", 2, 6)
    r.execute_command("AI.TENSORSET", "i8", "INT8", 2, 6)
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "scr", "CPU", "SOURCE", SCRIPT)
    r.execute_command("AI.SCRIPTSTORE", "ep", "CPU", "ENTRY_POINTS", 1, "entry", "SOURCE", SCRIPT)
    r.execute_command("AI.TENSORSET", "d", "DOUBLE", 3, "VALUES", 1, 2, 3)
    return [R.body_of(r.dump(k)) for k in ("x6", "i8", "mlp", "scr", "ep", "d")]


def fuzz(server, r, commands: int, seed: int) -> tuple[int, int, int]:
    """Sends `commands` fuzzed commands in pipelined batches of 200; returns (sent, errors,
    RSS growth in bytes from the end of the first 2,000 commands to the end)."""
    _, blob = traced_mlp()
    bodies = seed_values(r, blob)
    tmpl = templates(blob)
    rng = random.Random(seed)
    conn = Resp(server.port, timeout=120)
    sent = errors = 0
    base = None
    try:
        for batch in range(commands // 200):
            cmds = []
            for _ in range(200):
                choice = rng.random()
                if choice < 0.12:
                    cmds.append(rng.choice(tmpl))
                elif choice < 0.6:
                    cmds.append(mutate(rng.choice(tmpl), rng))
                elif choice < 0.8:
                    cmds.append(random_command(rng))
                else:
                    cmds.append(restore_mutant(bodies, rng))
            for c in cmds:
                conn.send(*c)
            for _ in cmds:
                reply = conn.read()
                errors += isinstance(reply, RespError)
            sent += len(cmds)
            if batch % 10 == 9:
                r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 511 * 1024 * 1024)
            if batch == 9:
                base = rss(server)
        assert conn.call("PING") == "PONG"
    finally:
        conn.close()
    return sent, errors, rss(server) - base


def check_still_serving(server, r, blob: bytes) -> None:
    assert server.alive()
    r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 511 * 1024 * 1024)
    # the fuzz may have deleted or replaced the fixtures; store them again and use them
    r.delete("mlp", "x6")
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.TENSORSET", "x6", "FLOAT", 2, 6)
    assert r.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x6", "OUTPUTS", 1, "final") == b"OK"
    assert r.save() is True  # whatever the fuzz stored can be serialised


def test_fuzz_commands(new_server):
    server = new_server(address_space=ADDRESS_SPACE).start()
    r = server.redis()
    sent, errors, growth = fuzz(server, r, 24_000, 20261126)
    print(f"fuzz: {sent} commands, {errors} error replies, RSS growth {growth / 2**20:.1f} MiB")
    assert sent >= 24_000
    assert 0 < errors < sent  # a mix of accepted and refused commands
    assert growth < RSS_BOUND, f"server RSS grew by {growth >> 20} MiB"
    check_still_serving(server, r, traced_mlp()[1])


@pytest.mark.slow
def test_fuzz_100000_commands(new_server):
    s = new_server(address_space=ADDRESS_SPACE).start()
    r = s.redis()
    sent, errors, growth = fuzz(s, r, 100_000, 20261201)
    print(f"fuzz: {sent} commands, {errors} error replies, RSS growth {growth / 2**20:.1f} MiB")
    assert sent >= 100_000 and 0 < errors < sent
    assert growth < RSS_BOUND, f"server RSS grew by {growth >> 20} MiB"
    check_still_serving(s, r, traced_mlp()[1])


def test_fuzz_rdb_files_at_startup(new_server):
    """RDB files in which one module value is mutated, between intact values: the server either
    starts (the mutant refused or loaded as what it says) or refuses the file with a clean
    exit; it never crashes, and when it starts the intact values before the mutant are there."""
    probe = new_server().start()
    bodies = seed_values(probe.redis(), traced_mlp()[1])
    probe.stop()
    rng = random.Random(7)
    started = refused = 0
    for _ in range(16):
        mutant = mutate_dump(rng.choice(bodies), rng)
        entries = [(b"before", bodies[0]), (b"mutant", mutant), (b"after", bodies[3])]
        s = new_server(persist=True, address_space=ADDRESS_SPACE)
        s.workdir.mkdir(parents=True, exist_ok=True)
        (s.workdir / "dump.rdb").write_bytes(R.rdb_file(entries))
        try:
            s.start(timeout=30)
        except RuntimeError:
            # Redis checks the file with its redis-check-rdb code, then exits (0 or 1)
            assert "Internal error in RDB reading" in s.log(), s.log()[-3000:]
            refused += 1
        else:
            assert s.redis().exists("before") == 1
            assert s.redis().ping()
            started += 1
            s.stop()
        assert "crashed by signal" not in s.log() and "STACK TRACE" not in s.log(), s.log()[-3000:]
    assert started + refused == 16


def nested_model(depth: int, kind: str) -> bytes:
    """A saved TorchScript module whose code has been rewritten to nest `depth` levels deep
    (the model archive holds source that is compiled when the model is loaded)."""
    class Add(torch.nn.Module):
        def forward(self, x):
            return x + 1

    saved = to_bytes(torch.jit.script(Add()))
    src = zipfile.ZipFile(io.BytesIO(saved))
    out = io.BytesIO()
    rewritten = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for name in src.namelist():
            data = src.read(name)
            if name.endswith(".debug_pkl"):
                continue
            if "/code/" in name and name.endswith(".py") and b"torch.add(x, 1)" in data:
                data = data.replace(b"torch.add(x, 1)", nested_expr(depth, kind, "x").encode())
                rewritten += 1
            dst.writestr(name, data)
    assert rewritten == 1, "the model's code record was not found in the archive"
    return out.getvalue()


def nested_expr(depth: int, kind: str, leaf: str) -> str:
    if kind == "paren":
        return "(" * depth + leaf + ")" * depth
    if kind == "list":
        return "torch.tensor(" + "[" * depth + "1.0" + "]" * depth + ")"
    return "-" * depth + leaf  # unary minus


def nested_if(depth: int) -> str:
    lines = ["def f(x):"]
    for i in range(depth):
        lines.append("    " * (i + 1) + "if bool(x.sum() > 0):")
    lines.append("    " * (depth + 1) + "x = x + 1")
    lines.append("    return x")
    return "\n".join(lines) + "\n"


def test_fuzz_nested_sources(new_server):
    """Deeply nested script and model sources are refused with an error reply (the compiler's
    recursion is bounded), and the server keeps serving."""
    s = new_server(address_space=ADDRESS_SPACE).start()
    r = s.redis()
    sources = {
        "paren": "def f(x):\n    return " + nested_expr(10_000, "paren", "x") + "\n",
        "list": "def f(x):\n    return " + nested_expr(3_000, "list", "x") + "\n",
        "minus": "def f(x):\n    return " + nested_expr(10_000, "minus", "x") + "\n",
        "if": nested_if(2_000),
    }
    for name, src in sources.items():
        reply = Resp(s.port, timeout=120)
        try:
            out = reply.call("PING") and (reply.send("AI.SCRIPTSET", f"s_{name}", "CPU", "SOURCE", src), reply.read())[1]
        finally:
            reply.close()
        assert isinstance(out, RespError), (name, out)
        assert s.alive() and r.ping()
    for name, (depth, kind) in {"paren": (10_000, "paren"), "list": (3_000, "list"),
                                "minus": (10_000, "minus")}.items():
        try:
            r.execute_command("AI.MODELSTORE", f"m_{name}", "TORCH", "CPU", "BLOB", nested_model(depth, kind))
            stored = True
        except Exception:  # noqa: BLE001 - an error reply is the expected outcome
            stored = False
        assert s.alive() and r.ping(), name
        assert not stored or r.exists(f"m_{name}")
    # shallow nesting still works
    r.execute_command("AI.SCRIPTSET", "ok", "CPU", "SOURCE", nested_if(5))
    r.execute_command("AI.MODELSTORE", "m_ok", "TORCH", "CPU", "BLOB", nested_model(20, "paren"))
    r.execute_command("AI.TENSORSET", "x", "FLOAT", 2, "VALUES", 1, 2)
    r.execute_command("AI.MODELEXECUTE", "m_ok", "INPUTS", 1, "x", "OUTPUTS", 1, "y")
    assert r.execute_command("AI.TENSORGET", "y", "VALUES") == [b"1", b"2"]

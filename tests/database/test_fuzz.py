"""A fuzz run: 12,000 random and malformed AI.* commands must leave the server alive and
serving (each gets exactly one reply, in order)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from _dbnets import SCRIPT, traced_mlp
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


def test_fuzz_12000_commands(server, r):
    _, blob = traced_mlp()
    r.hset("h", "f", "v")
    r.execute_command("AI.TENSORSET", "x6", "FLOAT", 2, 6)
    r.execute_command("AI.TENSORSET", "i8", "INT8", 2, 6)
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "scr", "CPU", "SOURCE", SCRIPT)
    tmpl = templates(blob)
    rng = random.Random(20261126)
    conn = Resp(server.port, timeout=120)
    sent = errors = 0
    try:
        for _batch in range(60):
            cmds = []
            for _ in range(200):
                choice = rng.random()
                if choice < 0.15:
                    cmds.append(rng.choice(tmpl))
                elif choice < 0.75:
                    cmds.append(mutate(rng.choice(tmpl), rng))
                else:
                    cmds.append(random_command(rng))
            for c in cmds:
                conn.send(*c)
            for _ in cmds:
                reply = conn.read()
                errors += isinstance(reply, RespError)
            sent += len(cmds)
            if _batch % 10 == 9:
                r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 511 * 1024 * 1024)
        assert conn.call("PING") == "PONG"
    finally:
        conn.close()
    assert sent >= 10_000
    assert 0 < errors < sent  # a mix of accepted and refused commands
    assert server.alive()
    r.execute_command("AI.CONFIG", "MODEL_CHUNK_SIZE", 511 * 1024 * 1024)
    # the fuzz may have deleted or replaced the fixtures; store them again and use them
    r.delete("mlp", "x6")
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.TENSORSET", "x6", "FLOAT", 2, 6)
    assert r.execute_command("AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x6", "OUTPUTS", 1, "final") == b"OK"
    assert r.save() is True  # whatever the fuzz stored can be serialised

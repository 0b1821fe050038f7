"""Bad input gives an error reply with the texts of docs/protocol.md §5, and the server stays up."""
from __future__ import annotations

import numpy as np
import pytest
from smartredis.error import RedisReplyError

from _dbnets import SCRIPT, traced_mlp
from _dbresp import Resp, RespError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

F4 = np.zeros(4, np.float32).tobytes()

CASES = [
    # tensors
    (["AI.TENSORSET", "t", "FLOAT"], "wrong number of arguments"),
    (["AI.TENSORSET", "t", "FLOAT16", 2, "BLOB", b"1234"], "ERR invalid data type"),
    (["AI.TENSORSET", "t", "STRING", 1, "BLOB", b"a\0"], "invalid data type"),
    (["AI.TENSORSET", "t", "FLOAT", 0, "BLOB", b""], "ERR invalid or negative value found in tensor shape"),
    (["AI.TENSORSET", "t", "FLOAT", -2, "BLOB", F4], "ERR invalid or negative value found in tensor shape"),
    (["AI.TENSORSET", "t", "FLOAT", "x", "BLOB", F4], "ERR invalid or negative value found in tensor shape"),
    (["AI.TENSORSET", "t", "FLOAT", 4, "BLOB", F4 + b"x"], "ERR data length does not match tensor shape and type"),
    (["AI.TENSORSET", "t", "DOUBLE", 4, "BLOB", F4], "ERR data length does not match tensor shape and type"),
    (["AI.TENSORSET", "t", "FLOAT", 4, "BLOB"], "a single binary string should come after the BLOB"),
    (["AI.TENSORSET", "t", "FLOAT", 1, "BLOB", F4[:4], F4[:4]], "a single binary string should come after the BLOB"),
    (["AI.TENSORSET", "t", "BOOL", 2, "BLOB", b"\x00\x02"], "ERR BOOL tensor elements must be 0 or 1"),
    (["AI.TENSORSET", "t", "INT8", 2, "VALUES", 1], "ERR wrong number of values was given"),
    (["AI.TENSORSET", "t", "INT8", 1, "VALUES", 300], "ERR invalid value"),
    (["AI.TENSORSET", "t", "UINT8", 1, "VALUES", -1], "ERR invalid value"),
    (["AI.TENSORSET", "t", "FLOAT", 1, "VALUES", "abc"], "ERR invalid value"),
    (["AI.TENSORSET", "t", "FLOAT", 100000, 100000, 100000], "too large"),
    (["AI.TENSORSET", "t", "FLOAT", 4294967296, 4294967296, 4294967296, "BLOB", b""], "too large"),
    (["AI.TENSORSET", "h", "FLOAT", 1, "BLOB", F4[:4]], "WRONGTYPE"),
    (["AI.TENSORGET", "missing"], "ERR tensor key is empty or in a different shard"),
    (["AI.TENSORGET", "h"], "WRONGTYPE"),
    (["AI.TENSORGET", "t1", "JSON"], "ERR unsupported data format"),
    (["AI.TENSORGET", "t1", "BLOB", "VALUES"], "ERR both BLOB and VALUES specified"),
    (["AI.TENSORGET", "t1", "META", "BLOB", "VALUES"], "wrong number of arguments"),
    (["AI.TENSORGET"], "wrong number of arguments"),
    # models
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB"], "wrong number of arguments"),
    (["AI.MODELSTORE", "m", "PYTORCH", "CPU", "BLOB", b"x"], "ERR unsupported backend"),
    (["AI.MODELSTORE", "m", "TORCH", "TPU", "BLOB", b"x"], "ERR Invalid DEVICE"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU:x", "BLOB", b"x"], "ERR Invalid DEVICE"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "BATCHSIZE", "a", "BLOB", b"x"], "ERR Invalid argument for BATCHSIZE"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "MINBATCHSIZE", 2, "BLOB", b"x"], "ERR MINBATCHSIZE specified without BATCHSIZE"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "BATCHSIZE", 2, "MINBATCHTIMEOUT", 2, "BLOB", b"x"],
     "ERR MINBATCHTIMEOUT specified without MINBATCHSIZE"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "a", "BATCHSIZE", 2], "ERR Insufficient arguments, missing model BLOB"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "INPUTS", 1, "a", "BLOB", b"x"], "ERR INPUTS argument should not be specified"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "TAG", "a", "CHUNKS", b"x"], "ERR Invalid argument, expected BLOB"),
    (["AI.MODELSTORE", "m", "TF", "CPU", "TAG", "a", "BLOB", b"x"], "ERR INPUTS not specified for TF"),
    (["AI.MODELSTORE", "m", "TF", "CPU", "INPUTS", 0, "BLOB", b"x"], "ERR Invalid argument for input_count"),
    (["AI.MODELSTORE", "m", "TF", "CPU", "INPUTS", 9, "a", "BLOB"], "ERR number of model inputs does not match"),
    (["AI.MODELSTORE", "m", "TF", "CPU", "INPUTS", 1, "a", "BLOB", b"x"], "ERR OUTPUTS not specified for TF"),
    (["AI.MODELSTORE", "m", "TORCH", "CPU", "BLOB", b"not a torchscript zip"], "ERR could not load the TorchScript model"),
    (["AI.MODELSTORE", "h", "TORCH", "CPU", "BLOB", "@MLP"], "WRONGTYPE"),
    (["AI.MODELGET", "missing", "BLOB"], "ERR model key is empty"),
    (["AI.MODELGET", "t1", "BLOB"], "WRONGTYPE"),
    (["AI.MODELDEL", "missing"], "ERR model key is empty"),
    (["AI.MODELDEL", "t1"], "WRONGTYPE"),
    (["AI.MODELDEL", "a", "b"], "wrong number of arguments"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", 1], "wrong number of arguments for 'AI.MODELEXECUTE'"),
    (["AI.MODELEXECUTE", "missing", "INPUTS", 1, "t1", "OUTPUTS", 1, "o"], "ERR model key is empty"),
    (["AI.MODELEXECUTE", "t1", "INPUTS", 1, "t1", "OUTPUTS", 1, "o"], "WRONGTYPE"),
    (["AI.MODELEXECUTE", "mlp", "INPUT", 1, "t1", "OUTPUTS", 1, "o"], "ERR INPUTS not specified"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", "x", "t1", "OUTPUTS", 1, "o"], "ERR Invalid argument for input_count"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 0, "t1", "OUTPUTS", 1, "o"], "ERR Input count must be a positive integer"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 2, "t1", "t1", "OUTPUTS", 1, "o"], "does not match model definition"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUT", 1, "o"], "ERR OUTPUTS not specified"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", "y", "o"], "ERR Invalid argument for output_count"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", -1, "o"], "ERR Output count must be a positive integer"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", 3, "o"], "ERR number of output keys"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", 1, "o", "TIMEOUT"], "ERR No value provided for TIMEOUT"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", 1, "o", "TIMEOUT", 0], "ERR Invalid value for TIMEOUT"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", 1, "o", "FAST", 1], "Invalid argument: FAST"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "nothere", "OUTPUTS", 1, "o"], "ERR tensor key is empty or in a different shard"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "h", "OUTPUTS", 1, "o"], "WRONGTYPE"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", 1, "h"], "WRONGTYPE"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "t1", "OUTPUTS", 1, "o"], "shapes cannot be multiplied"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "i8", "OUTPUTS", 1, "o"], "same dtype"),
    (["AI.MODELEXECUTE", "mlp", "INPUTS", 1, "x6", "OUTPUTS", 2, "o", "p"], "ERR Model did not generate the expected number of outputs"),
    # scripts
    (["AI.SCRIPTSET", "s", "CPU", "SOURCE"], "wrong number of arguments"),
    (["AI.SCRIPTSET", "s", "CPU", "TAG", "x", "SRC", "y"], "ERR Insufficient arguments, missing script SOURCE"),
    (["AI.SCRIPTSET", "s", "FPGA", "SOURCE", "def f(x):\n    return x\n"], "ERR unsupported device"),
    (["AI.SCRIPTSET", "s", "CPU", "SOURCE", "def f(x:\n  return"], "ERR could not compile the TorchScript source"),
    (["AI.SCRIPTSET", "s", "CPU", "SOURCE", "def f(x):\n    return undefined_name(x)\n"], "undefined value undefined_name"),
    (["AI.SCRIPTSET", "h", "CPU", "SOURCE", "def f(x):\n    return x\n"], "WRONGTYPE"),
    (["AI.SCRIPTSTORE", "s", "CPU", "ENTRY_POINTS", "x", "f", "SOURCE", "def f(x):\n    return x\n"], "ERR Non numeric entry points"),
    (["AI.SCRIPTSTORE", "s", "CPU", "TAG", "t", "SOURCE", "x", "y"], "ERR Insufficient arguments, missing script entry points"),
    (["AI.SCRIPTGET", "missing"], "ERR script key is empty"),
    (["AI.SCRIPTDEL", "missing"], "ERR script key is empty"),
    (["AI.SCRIPTDEL", "mlp"], "WRONGTYPE"),
    (["AI.SCRIPTRUN", "missing", "f", "INPUTS", "t1", "OUTPUTS", "o"], "ERR script key is empty"),
    (["AI.SCRIPTRUN", "scr", "nope", "INPUTS", "x6", "x6", "OUTPUTS", "o"], "Function does not exist: nope"),
    (["AI.SCRIPTRUN", "scr", "add_mul", "INPUTS", "x6", "INPUTS", "x6", "OUTPUTS", "o"], "ERR Already encountered an INPUTS section"),
    (["AI.SCRIPTRUN", "scr", "add_mul", "INPUTS", "x6", "OUTPUTS", "o", "OUTPUTS", "p"], "ERR Already encountered an OUTPUTS keyword"),
    (["AI.SCRIPTRUN", "scr", "add_mul", "$", "INPUTS", "x6", "OUTPUTS", "o"], "ERR Encountered a variable size list of tensors outside of input section"),
    (["AI.SCRIPTRUN", "scr", "add_mul", "INPUTS", "$", "x6", "$", "OUTPUTS", "o"], "ERR Already encountered a variable size list"),
    (["AI.SCRIPTRUN", "scr", "add_mul", "FOO", "INPUTS", "x6", "OUTPUTS", "o"], "ERR Unrecongnized parameter to SCRIPTRUN"),
    (["AI.SCRIPTRUN", "scr", "add_mul", "INPUTS", "x6", "OUTPUTS", "o", "p"], "Wrong number of inputs provided to function: add_mul"),
    (["AI.SCRIPTRUN", "scr", "add_mul", "INPUTS", "x6", "t1", "OUTPUTS", "o", "p"], "ERR "),
    (["AI.SCRIPTEXECUTE", "scr", "entry", "ARGS", 1, "2", "INPUTS", 1, "x6"], "ERR KEYS or INPUTS scope must be provided first"),
    (["AI.SCRIPTEXECUTE", "scr", "entry", "INPUTS", 5, "x6"], "does not match the number of given arguments"),
    (["AI.SCRIPTEXECUTE", "scr", "entry", "INPUTS", 1, "x6", "ARGS", 1, "notanumber", "OUTPUTS", 1, "o"], "ERR "),
    # info and config
    (["AI.INFO", "missing"], "ERR cannot find run info for key"),
    (["AI.INFO"], "wrong number of arguments"),
    (["AI.CONFIG", "BACKENDSPATH", "/tmp"], "never loads a shared library"),
    (["AI.CONFIG", "BACKENDSPATH"], "ERR BACKENDSPATH: missing path argument"),
    (["AI.CONFIG", "LOADBACKEND", "TORCH", "/tmp/evil.so"], "never loads a shared library"),
    (["AI.CONFIG", "LOADBACKEND", "CAFFE", "/tmp/evil.so"], "ERR unsupported backend"),
    (["AI.CONFIG", "MODEL_CHUNK_SIZE"], "ERR MODEL_CHUNK_SIZE: missing chunk size"),
    (["AI.CONFIG", "MODEL_CHUNK_SIZE", 0], "ERR MODEL_CHUNK_SIZE: invalid chunk size"),
    (["AI.CONFIG", "FROBNICATE"], "ERR unsupported subcommand"),
]


@pytest.fixture
def prepared(r, server):
    _, blob = traced_mlp()
    r.hset("h", "a", "1")
    r.execute_command("AI.TENSORSET", "t1", "FLOAT", 2, 3)
    r.execute_command("AI.TENSORSET", "x6", "FLOAT", 2, 6)
    r.execute_command("AI.TENSORSET", "i8", "INT8", 2, 6)
    r.execute_command("AI.MODELSTORE", "mlp", "TORCH", "CPU", "BLOB", blob)
    r.execute_command("AI.SCRIPTSET", "scr", "CPU", "SOURCE", SCRIPT)
    conn = Resp(server.port)
    yield r, blob, conn
    conn.close()


@pytest.mark.parametrize("args,expected", CASES, ids=[" ".join(str(a)[:12] for a in c[0][:4]) for c in CASES])
def test_bad_input_is_an_error_reply(prepared, args, expected):
    r, blob, conn = prepared
    args = [blob if a == "@MLP" else a for a in args]
    with pytest.raises(RespError) as e:
        conn.call(*args)
    text = str(e.value)
    # docs/protocol.md texts are matched from the start of the error, "ERR " prefix included
    if expected.startswith(("ERR ", "WRONGTYPE")):
        assert text.startswith(expected), text
    else:
        assert expected.lower() in text.lower(), text
    assert r.ping() is True
    # failed commands leave nothing behind and do not disturb what is stored
    assert r.exists("o") == 0 and r.type("h") == b"hash" and r.type("mlp") == b"AI__MODEL"


def test_smartredis_reports_errors(client, r):
    with pytest.raises(RedisReplyError):
        client.get_tensor("missing")
    with pytest.raises(RedisReplyError):
        client.set_model("m", b"garbage", "TORCH", "CPU")
    with pytest.raises(RedisReplyError):
        client.run_model("missing", ["a"], ["b"])
    with pytest.raises(RedisReplyError):
        client.set_script("s", "def broken(:\n", "CPU")
    assert r.dbsize() == 0


def test_metadata_config_gets(r):
    assert r.execute_command("AI.CONFIG", "GET", "MODEL_CHUNK_SIZE") == 511 * 1024 * 1024
    assert r.execute_command("AI.CONFIG", "GET", "NOSUCH") is None
    assert r.execute_command("AI.CONFIG", "get", "BACKENDSPATH") == b""


@pytest.mark.parametrize("args", [
    ["THREADS_PER_QUEUE", "3", "INTER_OP_PARALLELISM", "1", "INTRA_OP_PARALLELISM", "1"],
    ["THREADS_PER_QUEUE 3", "INTRA_OP_PARALLELISM 1", "MODEL_CHUNK_SIZE 4096"],
    ["TF", "/nonexistent/redisai_tensorflow.so", "TORCH", "/nonexistent/redisai_torch.so", "BACKENDSPATH", "/x",
     "MODEL_EXECUTION_TIMEOUT", "2000", "BACKEND_MEMORY_LIMIT", "100", "ONNX", "/n", "TFLITE", "/n"],
])
def test_load_time_arguments_accepted(new_server, args):
    s = new_server(module_args=args).start()
    conn = Resp(s.port)
    text = conn.call("INFO", "ai_load_time_configs").decode()
    conn.close()
    threads = 3 if ("THREADS_PER_QUEUE 3" in args or "3" in args) else 1
    assert f"ai_threads_per_queue:{threads}" in text, text
    assert s.redis().execute_command("AI.TENSORSET", "t", "FLOAT", 1) == b"OK"


@pytest.mark.parametrize("args", [["THREADS_PER_QUEUE"], ["THREADS_PER_QUEUE", "0"], ["NO_SUCH_KEY", "1"],
                                  ["MODEL_EXECUTION_TIMEOUT", "10"], ["INTRA_OP_PARALLELISM x"]])
def test_bad_load_time_arguments_fail_the_load(new_server, args):
    s = new_server(module_args=args)
    with pytest.raises(RuntimeError, match="exited"):
        s.start()
    assert "Module" in s.log() or "error processing argument" in s.log() or "odd number" in s.log()

"""TorchScript that a database must refuse by default: it reads or writes files, loops while it
loads or runs, or is nested deeply enough to exhaust a compiler's stack."""
from __future__ import annotations

import functools

import torch

from _dbnets import to_bytes


def read_script(path: str, n: int) -> str:
    """A script whose function reads the first n float32 values (4n bytes) of a file."""
    return f'''
def read(x):
    return torch.from_file("{path}", False, {n})
'''


def write_script(path: str, n: int) -> str:
    """A script whose function creates (or overwrites) a file with its n float32 inputs."""
    return f'''
def write(x):
    t = torch.from_file("{path}", True, {n})
    t.copy_(x)
    return t
'''


class ReadInForward(torch.nn.Module):
    def __init__(self, path: str, n: int):
        super().__init__()
        self.path, self.n = path, n

    def forward(self, x):
        return torch.from_file(self.path, False, self.n, dtype=torch.uint8)


class _Inner(torch.nn.Module):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x):
        torch.save(x, self.path)
        return x


class SaveInSubmodule(torch.nn.Module):
    """The file access is in a submodule's forward, behind a branch that is never taken."""

    def __init__(self, path: str):
        super().__init__()
        self.inner = _Inner(path)

    def forward(self, x):
        if bool(x.sum() < -1e30):
            return self.inner(x)
        return x


class WriteOnLoad(torch.nn.Module):
    """__setstate__, run while the model is loaded, writes 'AAAA' into a file."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.first = 0

    @torch.jit.export
    def __getstate__(self) -> str:
        return self.path

    @torch.jit.export
    def __setstate__(self, state: str) -> None:
        self.training = False
        self.path = state
        t = torch.from_file(self.path, True, 4, dtype=torch.uint8)
        t.fill_(65)
        self.first = int(t[0].item())  # a use of t, so that the write is not optimised away

    def forward(self, x):
        return x + 1


class LoopOnLoad(torch.nn.Module):
    """__setstate__ never returns."""

    def __init__(self):
        super().__init__()
        self.n = 1

    @torch.jit.export
    def __getstate__(self) -> int:
        return self.n

    @torch.jit.export
    def __setstate__(self, state: int) -> None:
        self.training = False
        self.n = state
        while self.n > 0:
            self.n = self.n + 1

    def forward(self, x):
        return x + 1


class LoopInForward(torch.nn.Module):
    """forward never returns."""

    def forward(self, x):
        y = x
        while bool(y.sum() > -1.0):
            y = y.abs() + 1
        return y


def model_bytes(module: torch.nn.Module) -> bytes:
    return to_bytes(torch.jit.script(module))


@functools.lru_cache(maxsize=None)
def loop_on_load() -> bytes:
    return model_bytes(LoopOnLoad())


@functools.lru_cache(maxsize=None)
def loop_in_forward() -> bytes:
    return model_bytes(LoopInForward())


def nested_sources() -> dict[str, str]:
    """Sources that overflowed the compiler's stack on Redis's main thread."""
    deep_if = "def f(x):\n" + "".join("    " * (i + 1) + "if bool(x.sum() > 0):\n" for i in range(3000))
    deep_if += "    " * 3001 + "x = x + 1\n    return x\n"
    return {
        "parentheses": "def f(x):\n    return " + "(" * 10000 + "x" + ")" * 10000 + "\n",
        "brackets": "def f(x):\n    return " + "[" * 3000 + "x" + "]" * 3000 + "\n",
        "unary minus": "def f(x):\n    return " + "-" * 10000 + "x\n",
        "nested if": deep_if,
        "long sum": "def f(x):\n    return x" + " + x" * 50000 + "\n",
    }

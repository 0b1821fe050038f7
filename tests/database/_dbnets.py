"""Small TorchScript models and scripts used by the database tests and serialised to bytes."""
from __future__ import annotations

import functools
import io

import torch


class MLP(torch.nn.Module):
    def __init__(self, nin: int = 6, nout: int = 6, width: int = 32):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(nin, width), torch.nn.Tanh(),
                                       torch.nn.Linear(width, width), torch.nn.Tanh(),
                                       torch.nn.Linear(width, nout))

    def forward(self, x):
        return self.net(x)


class TwoOut(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor):
        return a + b, a * b


class Slow(torch.nn.Module):
    """Runs `n` small matrix products; used to keep a worker busy for a while."""

    def forward(self, x: torch.Tensor, n: torch.Tensor):
        y = x
        for _ in range(int(n.item())):
            y = torch.tanh(y @ x)
        return y


class BusyRowwise(torch.nn.Module):
    """y = x + 1 row by row (so its requests batch), after `n` products of a 256 x 256 matrix:
    keeps a worker busy for a while whatever the rows."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor):
        a = torch.full((256, 256), 0.001)
        for _ in range(self.n):
            a = torch.tanh(a @ a + 0.001)
        return x + 1 + 0 * a.sum()


def to_bytes(module: torch.jit.ScriptModule) -> bytes:
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    return buf.getvalue()


@functools.lru_cache(maxsize=None)
def traced_mlp(seed: int = 0) -> tuple[torch.nn.Module, bytes]:
    torch.manual_seed(seed)
    m = MLP().eval()
    return m, to_bytes(torch.jit.trace(m, torch.randn(4, 6)))


@functools.lru_cache(maxsize=None)
def scripted_two_out() -> bytes:
    return to_bytes(torch.jit.script(TwoOut()))


@functools.lru_cache(maxsize=None)
def scripted_slow() -> bytes:
    return to_bytes(torch.jit.script(Slow()))


SCRIPT = '''
def add_mul(a, b):
    return a + b, a * b

def scale_all(xs: List[Tensor]):
    return torch.cat(xs, dim=0) * 2

def entry(tensors: List[Tensor], keys: List[str], args: List[str]):
    return tensors[0] * float(args[0]) + float(len(keys))
'''


@functools.lru_cache(maxsize=None)
def scripted_busy_rowwise(n: int) -> bytes:
    return to_bytes(torch.jit.script(BusyRowwise(n)))

"""Online trainer of a subgrid-stress model: reads SGS samples from the database as the solver
produces them and trains an MLP with torch DDP (gloo on CPU, NCCL on GPU).

Launch (2 data-parallel ranks; SmartSim does this in `eddylearn run`):

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m eddylearn.consumers.trainer --prefix P --out DIR --name trainer

The database address comes from the environment (SSDB, SR_DB_TYPE) like any SmartRedis client.

Data: list ``P + "sgs_samples"`` of datasets ``sgs.<step>.<rank>`` with tensors ``features``
(n, 9) and ``labels`` (n, 6) and metadata ``time``, ``delta`` (filter width). List entries are
dealt round-robin to the DDP ranks by absolute list position (a retention-proof cursor,
eddylearn.snapshots.ListCursor); every ``val_every``-th entry is held out for validation.
Normalisation (mean and std of features and labels) is fixed from the first data and baked
into the published TorchScript model, which maps raw features to raw stresses; the same
constants go into ``P + K + ".meta"`` with the model version. Each version is stored as
``P + K + ".v<version>"`` and as ``P + K`` (eddylearn.sgs_publish), and written to
``<out>/<name>.sgs_model.pt``; K is ``--model-key`` (default ``sgs_model``; the experiment
driver gives the first trainer ``sgs_model`` and each further one ``sgs_model.<name>``).
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import logging
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .. import sgs as sgs_scores
from ..config import SGS_ACTIVATION, SGS_ACTIVATIONS, SGS_HIDDEN
from ..sgs_publish import publish_model
from ..snapshots import ListCursor, stop_requested

log = logging.getLogger("eddylearn.trainer")


@dataclasses.dataclass
class TrainerConfig:
    name: str = "trainer"
    prefix: str = ""
    out: str = "."
    hidden: tuple[int, ...] = SGS_HIDDEN
    activation: str = SGS_ACTIVATION
    lr: float = 1e-3
    batch: int = 256
    steps_per_round: int = 50       # optimizer steps between looks at the database
    report_every: int = 4           # rounds between progress reports (with validation)
    publish_every: int = 200        # optimizer steps between model publications
    val_every: int = 5              # every n-th list entry is held out for validation
    max_steps: int = 0              # stop after this many optimizer steps (0: until stopped)
    max_buffer: int = 500_000       # samples kept per rank (oldest dropped beyond)
    renormalise_drift: float = 0.5  # renew the normalisation when its statistics drift this far
                                    # (normalisation_drift; 0: keep the first samples' for good)
    poll_interval: float = 0.5
    idle_timeout: float = 0.0       # stop after this many seconds without new data (0: never)
    resume: bool = True
    seed: int = 0
    cs: float = 0.17                # Smagorinsky constant of the a-priori baseline
    device: str = "cpu"
    model_key: str = "sgs_model"    # where the model is stored (after the prefix)

    def validate(self) -> None:
        if not self.name or any(c in self.name for c in " /{}"):
            raise ValueError(f"trainer name {self.name!r} must be non-empty without spaces, "
                             "slashes or braces")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden layer widths must be positive, got {self.hidden}")
        check_activation(self.activation)
        if not self.model_key or any(c in self.model_key for c in " {}"):
            raise ValueError(f"model key {self.model_key!r} must be non-empty without spaces or "
                             "braces")
        for key in ("lr",):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be positive")
        for key in ("batch", "steps_per_round", "report_every", "publish_every", "val_every",
                    "max_buffer"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
        if self.max_steps < 0:
            raise ValueError("max_steps must be >= 0")
        if not self.renormalise_drift >= 0:
            raise ValueError("renormalise_drift must be >= 0")


#: the activations SGSNet knows between its hidden layers (the names: config.SGS_ACTIVATIONS)
ACTIVATIONS = {name: {"gelu": nn.GELU, "relu": nn.ReLU, "hardswish": nn.Hardswish}[name]
               for name in SGS_ACTIVATIONS}


def check_activation(name: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r} (known: {', '.join(ACTIVATIONS)})")
    return name


class SGSNet(nn.Module):
    """MLP from the 9 filtered-gradient features to the 6 SGS stresses, with the normalisation
    of inputs and outputs held as buffers so that the scripted model works on raw values."""

    def __init__(self, hidden: tuple[int, ...] = SGS_HIDDEN, n_in: int = 9, n_out: int = 6,
                 activation: str = SGS_ACTIVATION):
        super().__init__()
        self.activation = check_activation(activation)
        layers: list[nn.Module] = []
        width = n_in
        for h in hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
            width = h
        layers.append(nn.Linear(width, n_out))
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("f_mean", torch.zeros(n_in))
        self.register_buffer("f_std", torch.ones(n_in))
        self.register_buffer("l_mean", torch.zeros(n_out))
        self.register_buffer("l_std", torch.ones(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        z = (x.to(self.f_mean.dtype) - self.f_mean) / self.f_std
        return (self.mlp(z) * self.l_std + self.l_mean).to(dtype)

    def set_normalisation(self, f_mean, f_std, l_mean, l_std) -> None:
        for name, val in (("f_mean", f_mean), ("f_std", f_std), ("l_mean", l_mean),
                          ("l_std", l_std)):
            getattr(self, name).copy_(torch.as_tensor(val, dtype=torch.float32))

    @torch.no_grad()
    def renormalise(self, f_mean, f_std, l_mean, l_std) -> None:
        """New normalisation statistics without changing what the model computes: the first
        layer absorbs the change of the input scaling, the last that of the output scaling."""
        new = [torch.as_tensor(v, dtype=torch.float32, device=self.f_mean.device)
               for v in (f_mean, f_std, l_mean, l_std)]
        fm, fs, lm, ls = new
        first, last = self.mlp[0], self.mlp[-1]
        # z_old = (s_new z_new + m_new - m_old) / s_old
        first.bias += first.weight @ ((fm - self.f_mean) / self.f_std)
        first.weight *= (fs / self.f_std)[None, :]
        # y = (W h + b) l_std + l_mean, kept equal under the new l_std, l_mean
        last.bias.copy_((last.bias * self.l_std + self.l_mean - lm) / ls)
        last.weight *= (self.l_std / ls)[:, None]
        self.set_normalisation(fm, fs, lm, ls)


#: rows of one block of the deployed model's forward: the hidden activations of a block stay
#: in the core's cache (4096 x 32 float32 = 512 kB) instead of streaming through memory
DEPLOY_BLOCK_ROWS = 4096
#: the most rows per oneDNN call of the fused deployed form (one rank's 16384 rows of a 32^3 LES
#: on 2 ranks take two calls per layer; blocks of 32768 rows made the (64, 64) network slower on
#: one thread)
FUSED_BLOCK_ROWS = 8192
#: what one fused layer of a block may read and write (its input and output activations, float32):
#: a core's L2 cache on current server CPUs is 1-2 MiB; a (64, 64) network's 64 -> 64 layer in
#: blocks of 8192 rows (4 MiB) ran at half the speed of blocks of 4096 (docs/benchmarks.md,
#: "Blocks that stay in a core's cache")
FUSED_BLOCK_BYTES = 2 << 20


def fused_block_rows(widths: list) -> int:
    """Rows per block of the fused form for layers of these widths (the input's first, then each
    layer's output): the largest power of two up to FUSED_BLOCK_ROWS whose widest layer's input
    and output fit in FUSED_BLOCK_BYTES, and never under 256 rows (even where those do not fit)."""
    if len(widths) < 2:
        raise ValueError(f"fused_block_rows needs the input's width and at least one layer's, "
                         f"got {list(widths)}")
    widest = max(a + b for a, b in zip(widths[:-1], widths[1:]))
    rows = FUSED_BLOCK_ROWS
    while rows > 256 and rows * widest * 4 > FUSED_BLOCK_BYTES:
        rows //= 2
    return rows


class _Affine(nn.Module):
    """h -> b + W h on feature-major activations (features, rows); weights as buffers, so that
    loading the model onto a device moves them."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.register_buffer("weight", weight.contiguous())
        self.register_buffer("bias", bias[:, None].contiguous())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, self.weight, h)


class DeployedSGS(nn.Module):
    """The SGSNet that is stored in the database, computing the same function faster.

    The normalisation is folded into the first and last layers (no elementwise passes over the
    inputs and outputs). On a CPU with oneDNN (torch.backends.mkldnn, which the x86 builds of
    torch have) each layer is one oneDNN inner product with its bias and activation fused
    (mkldnn::_linear_pointwise, an operator of torch's oneDNN integration), on the rows as they
    come, in blocks of at most FUSED_BLOCK_ROWS, fewer where a layer is wide
    (fused_block_rows: a block's layer stays in a core's cache): no transposition, no separate bias
    or activation pass.
    The operator is private to torch (a leading underscore): a model scripted with it loads into
    a libtorch with oneDNN and this operator's schema, such as the database's, which is the torch
    wheel the trainer runs on. The choice follows the build only (torch.backends.mkldnn
    .is_available()), not the CPU.
    Elsewhere (a GPU, or fused=False) each layer is W @ x^T, with the rows as the long dimension
    of the product (the row-major x @ W^T of a layer only 6 or 8 wide runs several times slower
    in the CPU's BLAS), in blocks of block_rows rows, so that a block's activations stay in
    cache. Both give the same values (tests/consumers/test_trainer_normalisation.py). Takes
    (n, 9) in any floating type, returns (n, 6) in that type; the activation is SGSNet's."""

    def __init__(self, net: "SGSNet", block_rows: int = DEPLOY_BLOCK_ROWS,
                 fused: bool | None = None):
        super().__init__()
        with torch.no_grad():
            lin = [m for m in net.mlp if isinstance(m, nn.Linear)]
            w = [m.weight.detach().float().cpu().clone() for m in lin]
            b = [m.bias.detach().float().cpu().clone() for m in lin]
            f_mean, f_std = net.f_mean.float().cpu(), net.f_std.float().cpu()
            l_mean, l_std = net.l_mean.float().cpu(), net.l_std.float().cpu()
            # first layer on (x - f_mean) / f_std; last layer's output times l_std plus l_mean
            w[0] = w[0] / f_std[None, :]
            b[0] = b[0] - w[0] @ f_mean
            w[-1] = w[-1] * l_std[:, None]
            b[-1] = b[-1] * l_std + l_mean
        self.layers = nn.ModuleList([_Affine(wi, bi) for wi, bi in zip(w, b)])
        self.n_layers = len(w)
        self.n_out = int(w[-1].shape[0])
        if int(block_rows) < 1:
            raise ValueError(f"block_rows must be at least 1, got {block_rows}")
        self.block_rows = int(block_rows)
        # the activation from the network's modules (GELU, ReLU or Hardswish; a net pickled
        # before the choice has GELU modules and no name for them)
        acts = {type(m) for m in net.mlp if not isinstance(m, nn.Linear)}
        kinds = {nn.GELU: 0, nn.ReLU: 1, nn.Hardswish: 2}
        if not acts <= set(kinds) or len(acts) > 1:
            raise ValueError(f"cannot deploy a network with activations "
                             f"{sorted(a.__name__ for a in acts)}: GELU, ReLU or Hardswish only")
        self.act = kinds[acts.pop()] if acts else 0
        # oneDNN's names of the same activations (GELU exact: algorithm "none", not "tanh")
        self.fused_act = ("gelu", "relu", "hardswish")[self.act]
        self.fused_algorithm = "none" if self.act == 0 else ""
        if fused is None:
            fused = bool(torch.backends.mkldnn.is_available())
        elif fused and not torch.backends.mkldnn.is_available():
            raise ValueError("fused=True needs a torch with oneDNN (torch.backends.mkldnn); "
                             "this one has none")
        # the fused layers run on a CPU; elsewhere (a GPU) forward takes the W x^T form, which
        # the scripted model carries too
        self.fused = bool(fused)
        widths = [int(w[0].shape[1])] + [int(wi.shape[0]) for wi in w]
        self.fused_block_rows = fused_block_rows(widths)
        # it computes in single precision: callers may send single-precision inputs and lose
        # nothing (eddylearn.sgs_publish puts this in the model's metadata as input_dtype)
        self.computes_in = "FLOAT"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused and x.device.type == "cpu":
            return self._forward_fused(x)
        n = x.shape[0]
        out = torch.empty(n, self.n_out, dtype=x.dtype, device=x.device)
        for j in range(0, n, self.block_rows):
            h = x[j:j + self.block_rows].t().to(torch.float32)
            for i, layer in enumerate(self.layers):
                h = layer(h)
                if i < self.n_layers - 1:
                    if self.act == 1:
                        h = torch.relu_(h)
                    elif self.act == 2:
                        h = torch.nn.functional.hardswish(h, inplace=True)
                    else:
                        h = torch.nn.functional.gelu(h)
            out[j:j + self.block_rows] = h.t()
        return out

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        xf = x.to(torch.float32).contiguous()
        if n <= self.fused_block_rows:
            return self._fused_block(xf).to(x.dtype)
        out = torch.empty(n, self.n_out, dtype=x.dtype)
        for j in range(0, n, self.fused_block_rows):
            out[j:j + self.fused_block_rows] = self._fused_block(xf[j:j + self.fused_block_rows])
        return out

    def _fused_block(self, h: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            hidden = i < self.n_layers - 1      # the output layer has no activation
            h = torch.ops.mkldnn._linear_pointwise(
                h, layer.weight, layer.bias.view(-1), self.fused_act if hidden else "none", [],
                self.fused_algorithm if hidden else "")
        return h


def group_std(var: np.ndarray) -> np.ndarray:
    """Standard deviations of one group of quantities in the same units (the nine gradients, the
    six stresses) from their variances; one that is (nearly) zero — w and its gradients vanish
    in the TGV's first samples — takes the group's largest, so that neither the scaled input nor
    a later renewal of the normalisation (SGSNet.renormalise) divides by almost nothing."""
    std = np.sqrt(np.maximum(var, 0))
    top = float(std.max())
    if not top > 0:
        return np.ones_like(std)
    return np.where(std > 1e-6 * top, std, top)


def normalisation_drift(old: tuple[np.ndarray, ...], new: tuple[np.ndarray, ...]) -> float:
    """How far statistics (f_mean, f_std, l_mean, l_std) have moved from those in use: the
    largest factor between the standard deviations (as |log ratio|) or mean shift in units of
    the old standard deviation."""
    fm, fs, lm, ls = old
    fm2, fs2, lm2, ls2 = new
    return float(max(np.max(np.abs(np.log(fs2 / fs))), np.max(np.abs(np.log(ls2 / ls))),
                     np.max(np.abs(fm2 - fm) / fs), np.max(np.abs(lm2 - lm) / ls)))


def scripted_bytes(net: SGSNet, fused: bool | None = None) -> bytes:
    """The model as TorchScript bytes (what AI.MODELSTORE receives): its deployed form
    (DeployedSGS; fused as there: None picks the fused layers where torch has oneDNN), built
    from a copy of the weights, so the live model stays put."""
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(DeployedSGS(net, fused=fused)), buf)
    return buf.getvalue()


class SampleBuffer:
    """Features and labels of one rank, appended as they arrive, oldest dropped past a cap."""

    def __init__(self, cap: int):
        self.cap = cap
        self.f = np.zeros((0, 9))
        self.l = np.zeros((0, 6))
        self.dropped = 0

    def add(self, f: np.ndarray, l: np.ndarray) -> None:
        self.f = np.concatenate([self.f, f])
        self.l = np.concatenate([self.l, l])
        if len(self.f) > self.cap:
            extra = len(self.f) - self.cap
            self.f, self.l = self.f[extra:], self.l[extra:]
            self.dropped += extra

    def __len__(self) -> int:
        return len(self.f)


#: the rank variables of the launchers that start one task per rank: srun, Open MPI's
#: mpirun (PBS), PMI
_LAUNCHER_RANKS = (("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"),
                   ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"),
                   ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"))


def world_from_launcher(env=os.environ) -> None:
    """Rank, world size and local rank for torch.distributed's rendezvous (env://) from the
    batch launcher that started one task per rank, when the driver gave the head node's
    address (MASTER_ADDR) and torch.distributed.run did not set them already."""
    if "WORLD_SIZE" in env or "MASTER_ADDR" not in env:
        return
    for rank, size, local in _LAUNCHER_RANKS:
        if rank in env and size in env:
            env.update(RANK=env[rank], WORLD_SIZE=env[size],
                       LOCAL_RANK=env.get(local, "0"))
            env.setdefault("MASTER_PORT", "29400")
            # gloo and NCCL find this node's address from its host name, which need not
            # resolve to an address the other nodes reach: name the interface that routes
            # to the head node instead
            ifname = _interface_towards(env["MASTER_ADDR"])
            if ifname:
                env.setdefault("GLOO_SOCKET_IFNAME", ifname)
                env.setdefault("NCCL_SOCKET_IFNAME", ifname)
            return


def _interface_towards(host: str) -> str | None:
    """The name of the network interface this node reaches `host` through."""
    import socket

    import psutil
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, 9))        # no packet is sent: this only picks the route
            local = s.getsockname()[0]
    except OSError:
        return None
    for name, addrs in psutil.net_if_addrs().items():
        if any(a.family == socket.AF_INET and a.address == local for a in addrs):
            return name
    return None


class _Dist:
    """The DDP world: ranks started by torch.distributed.run, or one task per rank started by
    srun or mpirun meeting at MASTER_ADDR; a world of one otherwise."""

    def __init__(self, device: str):
        world_from_launcher()
        self.enabled = int(os.environ.get("WORLD_SIZE", "1")) > 1
        self.device = device
        if device.startswith("cuda"):
            # one GPU per local rank
            local = int(os.environ.get("LOCAL_RANK", "0"))
            self.device = f"cuda:{local}" if device == "cuda" else device
            torch.cuda.set_device(torch.device(self.device))
        if self.enabled and not dist.is_initialized():
            backend = "nccl" if device.startswith("cuda") else "gloo"
            dist.init_process_group(backend)
        self.rank = dist.get_rank() if self.enabled else 0
        self.size = dist.get_world_size() if self.enabled else 1

    def reduce(self, values, op=None) -> np.ndarray:
        t = torch.tensor(np.asarray(values, dtype=np.float64))
        if self.enabled:
            dist.all_reduce(t, op=op or dist.ReduceOp.SUM)
        return t.numpy()

    def gather(self, obj):
        if not self.enabled:
            return [obj]
        out = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def _client():
    from smartredis import Client
    return Client(None, logger_name="eddylearn-trainer")


class Trainer:
    """One data-parallel rank of the online SGS trainer."""

    def __init__(self, cfg: TrainerConfig, client=None):
        cfg.validate()
        self.cfg = cfg
        self.world = _Dist(cfg.device)
        cfg.device = self.world.device
        self.client = client if client is not None else _client()
        torch.manual_seed(cfg.seed)
        self.net = SGSNet(cfg.hidden, activation=cfg.activation).to(cfg.device)
        if self.world.enabled:
            ids = [torch.device(cfg.device).index] if cfg.device.startswith("cuda") else None
            self.ddp = nn.parallel.DistributedDataParallel(self.net.mlp, device_ids=ids)
        else:
            self.ddp = self.net.mlp
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.train = SampleBuffer(cfg.max_buffer)
        self.val = SampleBuffer(cfg.max_buffer)
        self.reader = None         # ListCursor over the sample list, made on first use
        self.step = 0
        self.version = 0
        self.published_step = -1
        self.normalised = False
        self.norm_seen = 0.0            # samples read when the normalisation was last checked
        self.delta = float("nan")
        self.history: list[dict] = []
        self.entries_read = 0
        self.entries_missed = 0
        self.rng = np.random.default_rng(cfg.seed + self.world.rank)
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self._stop_signal = False
        self.t_start = self.last_data = time.time()
        self.rounds = 0
        self.last_loss: float | None = None
        if cfg.resume:
            self._resume()

    # ---- names -------------------------------------------------------------------------
    def key(self, name: str) -> str:
        return self.cfg.prefix + name

    @property
    def checkpoint_path(self) -> Path:
        return self.out / f"{self.cfg.name}.ckpt.pt"

    # ---- data --------------------------------------------------------------------------
    def poll_data(self) -> int:
        """Read this rank's share of the list entries that arrived since the last call
        (entries are dealt round-robin by absolute list position); returns how many entries
        the list advanced by."""
        if self.reader is None:
            # registered: retention keeps what this rank has not passed (up to its lag bound)
            self.reader = ListCursor(self.client, self.key("sgs_samples"), batch=256,
                                     reader=reader_name(self.cfg.name, self.world.rank))
        before = self.reader.cursor
        items = self.reader.read(want=lambda i: i % self.world.size == self.world.rank)
        for index, name, ds in items:
            if ds is None:
                continue
            f = np.asarray(ds.get_tensor("features"), dtype=np.float64)
            l = np.asarray(ds.get_tensor("labels"), dtype=np.float64)
            if f.ndim != 2 or f.shape[1] != 9 or l.shape != (f.shape[0], 6):
                raise ValueError(f"{name}: features {f.shape} and labels {l.shape} must be "
                                 "(n, 9) and (n, 6)")
            if np.isnan(self.delta):
                self.delta = float(ds.get_meta_scalars("delta")[0])
            # every val_every-th of this rank's own entries is held out (per rank, so that no
            # rank can end up with validation data only)
            held_out = self.entries_read % self.cfg.val_every == self.cfg.val_every - 1
            (self.val if held_out else self.train).add(f, l)
            self.entries_read += 1
        self.entries_missed = self.reader.missed
        return self.reader.cursor - before

    def _normalisation_stats(self) -> tuple[float, tuple[np.ndarray, ...]]:
        """Samples read so far (all ranks, dropped ones included) and the statistics of the
        training buffers (a collective)."""
        n = float(len(self.train))
        s = self.world.reduce([n, float(len(self.train) + self.train.dropped),
                               *self.train.f.sum(0), *self.train.l.sum(0),
                               *(self.train.f ** 2).sum(0), *(self.train.l ** 2).sum(0)])
        n, seen, s = s[0], s[1], s[2:]
        fm, lm = s[0:9] / n, s[9:15] / n
        fs = group_std(s[15:24] / n - fm ** 2)
        ls = group_std(s[24:30] / n - lm ** 2)
        return seen, (fm, fs, lm, ls)

    def _fix_normalisation(self) -> None:
        """Normalisation from the first samples; later, once the samples read have grown by
        half since the last time, from the buffers again if the statistics have drifted (the
        flow develops: the laminar start of a TGV has stresses orders of magnitude below its
        turbulent phase), the model's function kept (SGSNet.renormalise)."""
        seen, stats = self._normalisation_stats()
        if not self.normalised:
            self.net.set_normalisation(*stats)
            self.normalised = True
        else:
            old = tuple(getattr(self.net, k).cpu().numpy().astype(np.float64)
                        for k in ("f_mean", "f_std", "l_mean", "l_std"))
            drift = normalisation_drift(old, stats)
            if drift < self.cfg.renormalise_drift:
                self.norm_seen = seen
                return
            self.net.renormalise(*stats)
            # Adam's moments of the rescaled layers are in the old scale: start them afresh
            for layer in (self.net.mlp[0], self.net.mlp[-1]):
                for p in layer.parameters():
                    self.opt.state.pop(p, None)
            log.info("%s: normalisation renewed at step %d from %d samples (drift %.2f)",
                     self.cfg.name, self.step, int(seen), drift)
        self.norm_seen = seen

    # ---- training ----------------------------------------------------------------------
    def _loss(self, f: np.ndarray, l: np.ndarray, grad: bool) -> torch.Tensor:
        x = torch.as_tensor(f, dtype=torch.float32, device=self.cfg.device)
        y = torch.as_tensor(l, dtype=torch.float32, device=self.cfg.device)
        z = (x - self.net.f_mean) / self.net.f_std
        target = (y - self.net.l_mean) / self.net.l_std
        with torch.set_grad_enabled(grad):
            out = self.ddp(z)
            return torch.mean((out - target) ** 2)

    def train_round(self) -> float:
        losses = []
        for _ in range(self.cfg.steps_per_round):
            idx = self.rng.integers(0, len(self.train), size=min(self.cfg.batch, len(self.train)))
            loss = self._loss(self.train.f[idx], self.train.l[idx], grad=True)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            losses.append(loss.item())
            self.step += 1
            if self.step % self.cfg.publish_every == 0:
                self.publish()
        return float(np.mean(losses))

    def val_loss(self) -> float:
        n = len(self.val)
        loss = self._loss(self.val.f, self.val.l, grad=False).item() * n if n else 0.0
        total, count = self.world.reduce([loss, n])
        return float(total / count) if count else float("nan")

    # ---- output ------------------------------------------------------------------------
    def publish(self) -> None:
        """Store the model (TorchScript) and its metadata in the database; checkpoint."""
        if self.published_step == self.step:
            return
        self.published_step = self.step
        self.version += 1
        if self.world.rank != 0:
            return
        blob = scripted_bytes(self.net)
        # the files first: a model and a checkpoint on disk even when the database is gone
        # the latest model as a file too (eddylearn validate tgv-les --model FILE)
        tmp = self.out / f"{self.cfg.name}.sgs_model.pt.tmp"
        tmp.write_bytes(blob)
        os.replace(tmp, self.out / f"{self.cfg.name}.sgs_model.pt")
        torch.save({"model": self.net.state_dict(), "opt": self.opt.state_dict(),
                    "step": self.step, "version": self.version,
                    "delta": self.delta, "history": self.history,
                    "activation": self.cfg.activation},
                   self.checkpoint_path.with_suffix(".tmp"))
        os.replace(self.checkpoint_path.with_suffix(".tmp"), self.checkpoint_path)
        publish_model(self.client, self.key(self.cfg.model_key), blob, self.version,
                      step=self.step, delta=self.delta, input_dtype="FLOAT",
                      extra_meta={"trainer": self.cfg.name,
                                  **{name: getattr(self.net, name).cpu().numpy()
                                     for name in ("f_mean", "f_std", "l_mean", "l_std")}})
        log.info("%s: published %s version %d at step %d", self.cfg.name, self.cfg.model_key,
                 self.version,
                 self.step)

    def _resume(self) -> None:
        if not self.checkpoint_path.exists():
            return
        state = torch.load(self.checkpoint_path, map_location=self.cfg.device, weights_only=False)
        # the activation has no parameters: a network of the other one would load silently
        saved = state.get("activation", "gelu")     # checkpoints from before the choice: GELU
        if saved != self.cfg.activation:
            raise ValueError(f"the checkpoint {self.checkpoint_path} is of a network with "
                             f"{saved} activations, not {self.cfg.activation}: resume with "
                             f"--activation {saved}, or start afresh (--no-resume)")
        self.net.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.version = state["step"], state["version"]
        self.delta = state["delta"]          # the samples still stored are read again
        self.history = state["history"]
        self.normalised = True
        log.info("%s: resumed from %s at step %d (version %d)", self.cfg.name,
                 self.checkpoint_path, self.step, self.version)

    def report_progress(self, train_loss: float, val_loss: float) -> None:
        n = self.world.reduce([len(self.train), len(self.val)])
        rec = {"step": self.step, "time": time.time() - self.t_start, "train_loss": train_loss,
               "val_loss": val_loss, "train_samples": int(n[0]), "val_samples": int(n[1]),
               "version": self.version}
        self.history.append(rec)
        if self.world.rank == 0:
            self.client.put_tensor(self.key(f"trainer.{self.cfg.name}.progress"), np.array(
                [self.step, train_loss, val_loss, n[0], n[1], self.version], dtype=np.float64))
            log.info("%s: step %d train loss %.4e val loss %.4e samples %d", self.cfg.name,
                     self.step, train_loss, val_loss, int(n[0]))

    def iteration(self) -> tuple[bool, bool]:
        """One pass of the online loop: read new samples; when every rank has some, take
        steps_per_round optimizer steps (progress and validation every report_every rounds);
        agree with the other ranks on stopping. Returns (trained, stop)."""
        now = time.time()
        if self.poll_data():
            self.last_data = now
        trained = self.world.reduce([len(self.train)], op=dist.ReduceOp.MIN)[0] > 0
        if trained:
            if not self.normalised:
                self._fix_normalisation()
            loss = self.train_round()
            self.rounds += 1
            if self.cfg.renormalise_drift > 0 and self.rounds % self.cfg.report_every == 0:
                # collective: every rank takes the same rounds
                seen = self.world.reduce([float(len(self.train) + self.train.dropped)])[0]
                if seen >= 1.5 * self.norm_seen:
                    self._fix_normalisation()
            if self.rounds % self.cfg.report_every == 0:
                self.report_progress(loss, self.val_loss())
            self.last_loss = loss
        stop_here = self._stop_signal or stop_requested(self.client, self.cfg.prefix)
        idle_here = bool(self.cfg.idle_timeout) and now - self.last_data > self.cfg.idle_timeout
        # one collective for both: stop if any rank is asked to, idle only if all are
        stop, busy = self.world.reduce([float(stop_here), float(not idle_here)],
                                       op=dist.ReduceOp.MAX)
        stop = bool(stop) or (bool(self.cfg.idle_timeout) and busy == 0)
        stop = stop or bool(self.cfg.max_steps and self.step >= self.cfg.max_steps)
        return bool(trained), stop

    # ---- main loop ---------------------------------------------------------------------
    def run(self) -> dict:
        # a stop request by signal (the driver's SIGTERM, Ctrl-C, a closed terminal) is agreed
        # by all ranks at the end of a round; the model is then published and checkpointed
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            while True:
                trained, stop = self.iteration()
                if stop:
                    break
                if not trained:
                    time.sleep(self.cfg.poll_interval)
        except KeyboardInterrupt:
            pass
        if self.normalised:
            self.poll_data()
            if self.last_loss is not None:
                self.report_progress(self.last_loss, self.val_loss())
            self.publish()
        result = self.finish()
        if self.reader is not None:
            try:
                self.reader.unregister()
            except Exception as exc:    # a lost database: nothing to release
                log.warning("could not unregister %s: %s", self.reader.reader, exc)
        self.world.close()
        return result

    def _on_signal(self, *_):
        self._stop_signal = True

    def finish(self) -> dict:
        """A-priori comparison with Smagorinsky on the held-out samples; JSON and plots."""
        parts = self.world.gather((self.val.f, self.val.l))
        if self.world.rank != 0:
            return {}
        vf = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 9))
        vl = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 6))
        result = {"name": self.cfg.name, "hidden": list(self.cfg.hidden),
                  "activation": self.cfg.activation, "steps": self.step,
                  "version": self.version, "entries_read": self.entries_read,
                  "entries_missed": self.entries_missed, "world_size": self.world.size,
                  "delta": self.delta, "history": self.history,
                  "wall_time": time.time() - self.t_start}
        if len(vl) and self.normalised:
            with torch.no_grad():
                pred = self.net(torch.as_tensor(vf, dtype=torch.float32,
                                                device=self.cfg.device)).cpu().numpy()
            result["apriori"] = {
                "learned": sgs_scores.apriori_scores(pred, vl, vf),
                **sgs_scores.baseline_apriori(vf, vl, self.delta, self.cfg.cs),
            }
            self._plots(pred, vl)
        (self.out / f"{self.cfg.name}.json").write_text(json.dumps(result, indent=2) + "\n")
        return result

    def _plots(self, pred: np.ndarray, true: np.ndarray) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        steps = [h["step"] for h in self.history]
        a1.semilogy(steps, [h["train_loss"] for h in self.history], label="train")
        a1.semilogy(steps, [h["val_loss"] for h in self.history], label="validation")
        a1.set_xlabel("optimizer step"); a1.set_ylabel("normalised MSE"); a1.legend()
        a1.set_title(f"{self.cfg.name}: loss"); a1.grid(alpha=0.3)
        a2.scatter(true[:, 3], pred[:, 3], s=3, alpha=0.4)
        lim = [min(true[:, 3].min(), pred[:, 3].min()), max(true[:, 3].max(), pred[:, 3].max())]
        a2.plot(lim, lim, "k--", lw=1)
        a2.set_xlabel("true τ₁₂"); a2.set_ylabel("predicted τ₁₂")
        a2.set_title("held-out samples"); a2.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(self.out / f"{self.cfg.name}.png", dpi=100)
        plt.close(fig)


def reader_name(trainer: str, rank: int) -> str:
    """The name under which a trainer rank registers as a reader of the sample list."""
    return f"trainer.{trainer}.rank{rank}"


def parse_args(argv=None) -> TrainerConfig:
    p = argparse.ArgumentParser(prog="python -m eddylearn.consumers.trainer",
                                description="Online SGS trainer (run under "
                                            "torch.distributed.run for data parallelism).")
    d = TrainerConfig()
    p.add_argument("--name", default=d.name)
    p.add_argument("--prefix", default=d.prefix)
    p.add_argument("--out", default=d.out)
    p.add_argument("--hidden", default=",".join(map(str, d.hidden)),
                   help="hidden layer widths, comma separated (default "
                        + ",".join(map(str, SGS_HIDDEN)) + ")")
    p.add_argument("--activation", default=d.activation, choices=tuple(ACTIVATIONS),
                   help=f"activation of the hidden layers (default {SGS_ACTIVATION})")
    for key in ("lr", "poll_interval", "idle_timeout", "cs", "renormalise_drift"):
        p.add_argument("--" + key.replace("_", "-"), type=float, default=getattr(d, key))
    for key in ("batch", "steps_per_round", "report_every", "publish_every", "val_every",
                "max_steps", "max_buffer", "seed"):
        p.add_argument("--" + key.replace("_", "-"), type=int, default=getattr(d, key))
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--device", default=d.device)
    p.add_argument("--model-key", default=d.model_key,
                   help="key of the published model after the prefix (default sgs_model)")
    a = p.parse_args(argv)
    try:
        hidden = tuple(int(x) for x in a.hidden.split(",") if x)
    except ValueError:
        p.error(f"--hidden must be integers separated by commas, got {a.hidden!r}")
    cfg = TrainerConfig(name=a.name, prefix=a.prefix, out=a.out, hidden=hidden,
                        activation=a.activation, lr=a.lr,
                        batch=a.batch, steps_per_round=a.steps_per_round,
                        report_every=a.report_every,
                        publish_every=a.publish_every, val_every=a.val_every,
                        max_steps=a.max_steps, max_buffer=a.max_buffer,
                        poll_interval=a.poll_interval, idle_timeout=a.idle_timeout,
                        resume=not a.no_resume, seed=a.seed, cs=a.cs, device=a.device,
                        model_key=a.model_key)
    try:
        cfg.validate()
    except ValueError as exc:
        p.error(str(exc))
    return cfg


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    cfg = parse_args(argv)
    Trainer(cfg).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

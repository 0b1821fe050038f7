"""Compressor: streaming POD of the velocity snapshots (incremental SVD with a rank cap).

Each snapshot x = (u, v, w) flattened (3 N values, no mean subtracted) updates a thin SVD
X ~ U S V^T of all snapshots seen (Brand's incremental SVD: project x on U, SVD of the small
(r+1) x (r+1) core, rotate, truncate to the rank cap). Per snapshot it reports
- rel_error: ||x - U U^T x|| / ||x|| with the basis just after the update (how well the stored
  r coefficients represent this snapshot when it arrives; 0 to round-off while the number of
  snapshots is at most the rank cap),
- novelty: the same with the basis before the update (how new the snapshot is).
At the end: the compression ratio (3 N n values against U, S, V), the energy captured per mode
(pod_energy.png), an estimate of the overall relative error sqrt(sum of truncated sigma^2) /
||X||_F, and with --exact-error (keeps the snapshots in memory) the exact error of the stored
reconstruction U S V_j^T of every snapshot j.

Outputs in --out: compressor.json, pod_energy.png, pod_modes.npz (unless --no-modes),
summary.json.
"""
from __future__ import annotations

import json
import logging

import numpy as np

from ..snapshots import Snapshot
from . import base

log = logging.getLogger(__name__)


class IncrementalPOD:
    """Thin SVD of a growing set of column vectors, truncated to `rank` (Brand 2002)."""

    def __init__(self, rank: int, tol: float = 1e-13):
        if rank < 1:
            raise ValueError(f"rank must be at least 1, got {rank}")
        self.rank = rank
        self.tol = tol
        self.U: np.ndarray | None = None   # (m, k)
        self.S = np.zeros(0)               # (k,)
        self.V = np.zeros((0, 0))          # (n, k)
        self.n = 0
        self.total_sq = 0.0                # ||X||_F^2
        self.dropped_sq = 0.0              # sum of truncated sigma^2

    def _proj_error(self, x: np.ndarray) -> float:
        if self.U is None:
            return float(np.linalg.norm(x))
        return float(np.linalg.norm(x - self.U @ (self.U.T @ x)))

    def update(self, x: np.ndarray) -> tuple[float, float]:
        """Add column x; returns (novelty, rel_error) relative to ||x||."""
        x = np.asarray(x, dtype=np.float64).ravel()
        xn = float(np.linalg.norm(x))
        self.total_sq += xn * xn
        novelty = self._proj_error(x) / xn if xn > 0 else 0.0
        if self.U is None:
            m = x.size
            self.U = np.zeros((m, 0))
        k = self.S.size
        p = self.U.T @ x
        r = x - self.U @ p
        p2 = self.U.T @ r            # one re-orthogonalisation step
        r -= self.U @ p2
        p += p2
        rho = float(np.linalg.norm(r))
        q = r / rho if rho > self.tol * max(xn, 1e-300) else np.zeros_like(r)
        if not q.any():
            rho = 0.0
        K = np.zeros((k + 1, k + 1))
        K[:k, :k] = np.diag(self.S)
        K[:k, k] = p
        K[k, k] = rho
        Uk, Sk, Vkt = np.linalg.svd(K)
        keep = int(np.sum(Sk > self.tol * max(Sk[0], 1e-300)))
        keep = min(keep, self.rank)
        self.dropped_sq += float(np.sum(Sk[keep:] ** 2))
        Uq = np.concatenate([self.U, q[:, None]], axis=1)
        self.U = Uq @ Uk[:, :keep]
        self.S = Sk[:keep]
        Vbig = np.zeros((self.n + 1, k + 1))
        Vbig[:self.n, :k] = self.V
        Vbig[self.n, k] = 1.0
        self.V = Vbig @ Vkt.T[:, :keep]
        self.n += 1
        if self.n % 16 == 0:       # keep U orthonormal against round-off drift
            Q, R = np.linalg.qr(self.U)
            Uc, Sc, Vct = np.linalg.svd(R * self.S)
            self.U, self.S, self.V = Q @ Uc, Sc, self.V @ Vct.T
        err = self._proj_error(x) / xn if xn > 0 else 0.0
        return novelty, err

    def reconstruct(self, j: int) -> np.ndarray:
        """The stored reconstruction U S V_j^T of snapshot j."""
        return self.U @ (self.S * self.V[j])

    def compression_ratio(self, m: int) -> float:
        """Raw values (m n) over the stored values (U, S, V)."""
        k = self.S.size
        stored = m * k + k + self.n * k
        return float(m * self.n / stored) if stored else float("inf")

    def error_estimate(self) -> float:
        """sqrt(sum of truncated sigma^2) / ||X||_F (exact when nothing was truncated)."""
        return float(np.sqrt(self.dropped_sq / self.total_sq)) if self.total_sq > 0 else 0.0


class Compressor(base.Consumer):
    name = "compressor"

    def __init__(self, out, prefix: str = "", *, rank: int = 16, exact_error: bool = False,
                 save_modes: bool = True, **kw):
        if rank < 1:
            raise ValueError(f"rank must be at least 1, got {rank}")
        super().__init__(out, prefix, **kw)
        self.pod = IncrementalPOD(rank)
        self.exact_error = exact_error
        self.save_modes = save_modes
        self.kept: list[np.ndarray] = []
        self.records: list[dict] = []
        self.m = 0
        self.shape = None

    @staticmethod
    def vector(s: Snapshot) -> np.ndarray:
        return np.concatenate([s["u"].ravel(), s["v"].ravel(), s["w"].ravel()])

    def process(self, s: Snapshot) -> None:
        x = self.vector(s)
        if self.m and x.size != self.m:
            log.warning("compressor: step %d has %d values, the basis has %d; skipped",
                        s.step, x.size, self.m)
            return
        self.m, self.shape = x.size, s.n
        novelty, err = self.pod.update(x)
        if self.exact_error:
            self.kept.append(x)
        rec = {"step": s.step, "time": s.time, "rank": int(self.pod.S.size),
               "novelty": novelty, "rel_error": err,
               "compression_ratio": self.pod.compression_ratio(self.m)}
        self.records.append(rec)
        log.info("compressor: step %d rank %d rel_error %.3e ratio %.2f", s.step, rec["rank"],
                 err, rec["compression_ratio"])

    def finish(self) -> dict:
        pod = self.pod
        sig2 = pod.S ** 2
        energy = (sig2 / pod.total_sq).tolist() if pod.total_sq > 0 else []
        result = {"rank_cap": pod.rank, "rank": int(pod.S.size), "snapshots": pod.n,
                  "values_per_snapshot": self.m, "grid": self.shape,
                  "compression_ratio": pod.compression_ratio(self.m) if pod.n else None,
                  "coefficient_ratio": self.m / max(1, pod.S.size) if pod.n else None,
                  "rel_error_estimate": pod.error_estimate(),
                  "singular_values": pod.S.tolist(), "energy_fraction": energy,
                  "per_snapshot": self.records}
        if self.exact_error and self.kept:
            errs = [float(np.linalg.norm(x - pod.reconstruct(j)) / max(np.linalg.norm(x), 1e-300))
                    for j, x in enumerate(self.kept)]
            num = sum(float(np.sum((x - pod.reconstruct(j)) ** 2)) for j, x in enumerate(self.kept))
            result["rel_error_final"] = errs
            result["rel_error_final_frobenius"] = float(np.sqrt(num / pod.total_sq))
            for rec, e in zip(self.records, errs):
                rec["rel_error_final"] = e
        (self.out / "compressor.json").write_text(json.dumps(result, indent=1))
        if pod.n and self.save_modes:
            np.savez(self.out / "pod_modes.npz", U=pod.U, S=pod.S, V=pod.V,
                     steps=np.array([r["step"] for r in self.records]),
                     grid=np.array(self.shape))
        if pod.n:
            self._plot(energy)
        return {k: result[k] for k in ("rank_cap", "rank", "compression_ratio",
                                       "rel_error_estimate")}

    def _plot(self, energy) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
        idx = np.arange(1, len(energy) + 1)
        a1.semilogy(idx, np.maximum(energy, 1e-300), "o-")
        a1.set_xlabel("POD mode"); a1.set_ylabel(r"$\sigma_i^2 / \|X\|_F^2$")
        a2.plot(idx, np.cumsum(energy), "k.-")
        a2.set_xlabel("POD modes kept"); a2.set_ylabel("fraction of snapshot energy captured")
        a2.set_ylim(min(np.cumsum(energy)[0] * 0.99, 1.0) if energy else 0, 1.0005)
        fig.tight_layout()
        fig.savefig(self.out / "pod_energy.png", dpi=100)
        plt.close(fig)


def _options(p) -> None:
    p.add_argument("--rank", type=base.positive_int, default=16,
                   help="rank cap of the streaming POD (default: %(default)s)")
    p.add_argument("--exact-error", action="store_true",
                   help="keep the snapshots in memory and report the exact final error")
    p.add_argument("--no-modes", dest="save_modes", action="store_false",
                   help="do not write pod_modes.npz")


def _build(args) -> Compressor:
    return Compressor(args.out, rank=args.rank, exact_error=args.exact_error,
                      save_modes=args.save_modes, **base.common_kwargs(args))


def run(out, prefix: str = "", **kw) -> dict:
    """Run the compressor until it is told to stop; returns its summary."""
    return Compressor(out, prefix, **kw).run()


def main(argv=None) -> int:
    return base.main_wrapper(_build, argv, name="compressor",
                             description=__doc__.split("\n\n")[0], add_options=_options)


if __name__ == "__main__":
    raise SystemExit(main())

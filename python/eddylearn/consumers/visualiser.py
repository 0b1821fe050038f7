"""Visualiser: vorticity-magnitude slices (PNG per snapshot, GIF at the end) and volume output
for ParaView (VTK ImageData .vti through pyevtk, with a .pvd time collection).

The vorticity is computed with the staggered differences of the solver and averaged to the cell
centres (see eddylearn.consumers.fields). The slice is the plane of cells k = nz // 2 (or
--slice-axis x|y|z and --slice-index). The volume files carry, as cell data on the image of
nx x ny x nz cells with origin -L/2 and spacing dx: the velocity averaged to the cell centres
(vector "velocity"), "vorticity_magnitude" and, when the solver sent it, "p" (float32 unless
--volume-float64).

Outputs in --out: slices/vorticity_<step>.png, vorticity.gif, volume/snapshot_<step>.vti,
volume/snapshots.pvd, summary.json.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..snapshots import Snapshot
from . import base
from .fields import velocity_centres, vorticity_magnitude

log = logging.getLogger(__name__)

_AXES = {"x": 0, "y": 1, "z": 2}


def write_vti(path: Path, s: Snapshot, omega_mag: np.ndarray, dtype=np.float32) -> Path:
    """Write the snapshot as VTK ImageData (cell data) with pyevtk; returns the .vti path."""
    from pyevtk.hl import imageToVTK

    uc, vc, wc = velocity_centres(s["u"], s["v"], s["w"])
    conv = lambda a: np.asfortranarray(a, dtype=dtype)  # noqa: E731
    cell = {"velocity": (conv(uc), conv(vc), conv(wc)),
            "vorticity_magnitude": conv(omega_mag)}
    if "p" in s.fields:
        cell["p"] = conv(s["p"])
    origin = tuple(-0.5 * L for L in s.lengths)
    out = imageToVTK(str(path), origin=origin, spacing=tuple(s.dx), cellData=cell)
    return Path(out)


class Visualiser(base.Consumer):
    name = "visualiser"

    def __init__(self, out, prefix: str = "", *, slice_axis: str = "z",
                 slice_index: int | None = None, volume_every: int = 1, fps: float = 4.0,
                 volume_float64: bool = False, **kw):
        if slice_axis not in _AXES:
            raise ValueError(f"slice_axis must be x, y or z, got {slice_axis!r}")
        if volume_every < 0:
            raise ValueError(f"volume_every must be >= 0, got {volume_every}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        super().__init__(out, prefix, **kw)
        if volume_every:
            import pyevtk  # noqa: F401  (fail at start, not at the first snapshot)
        self.axis = _AXES[slice_axis]
        self.slice_index = slice_index
        self.volume_every = volume_every
        self.fps = fps
        self.dtype = np.float64 if volume_float64 else np.float32
        (self.out / "slices").mkdir(exist_ok=True)
        if volume_every:
            (self.out / "volume").mkdir(exist_ok=True)
        self.pngs: list[Path] = []
        self.vtis: list[tuple[Path, float]] = []

    def process(self, s: Snapshot) -> None:
        om = vorticity_magnitude(s["u"], s["v"], s["w"], s.dx)
        self.pngs.append(self._slice_png(s, om))
        if self.volume_every and (self.processed % self.volume_every == 0):
            path = write_vti(self.out / "volume" / f"snapshot_{s.step:08d}", s, om, self.dtype)
            self.vtis.append((path, s.time))
            self._write_pvd()

    def _slice_png(self, s: Snapshot, om: np.ndarray) -> Path:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = self.axis
        n = s.n[ax]
        idx = n // 2 if self.slice_index is None else self.slice_index
        if not 0 <= idx < n:
            raise ValueError(f"slice index {idx} outside 0..{n - 1}")
        plane = np.take(om, idx, axis=ax)
        other = [a for a in range(3) if a != ax]
        L = s.lengths
        extent = [-L[other[0]] / 2, L[other[0]] / 2, -L[other[1]] / 2, L[other[1]] / 2]
        names = "xyz"
        coord = -L[ax] / 2 + (idx + 0.5) * s.dx[ax]
        fig, a = plt.subplots(figsize=(5, 4.2))
        im = a.imshow(plane.T, origin="lower", extent=extent, cmap="inferno")
        fig.colorbar(im, ax=a, label="|ω|")
        a.set_xlabel(names[other[0]]); a.set_ylabel(names[other[1]])
        a.set_title(f"step {s.step}, t = {s.time:.4g}, {names[ax]} = {coord:.3g}")
        fig.tight_layout()
        path = self.out / "slices" / f"vorticity_{s.step:08d}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        return path

    def _write_pvd(self) -> None:
        from pyevtk.vtk import VtkGroup

        group = VtkGroup(str(self.out / "volume" / "snapshots"))
        for path, t in self.vtis:
            group.addFile(filepath=str(path), sim_time=t)
        group.save()

    def finish(self) -> dict:
        gif = None
        if self.pngs:
            from PIL import Image
            frames = [Image.open(p).convert("RGB") for p in self.pngs]
            gif = self.out / "vorticity.gif"
            frames[0].save(gif, save_all=True, append_images=frames[1:], loop=0,
                           duration=int(1000 / self.fps))
            log.info("visualiser: %d frames in %s", len(frames), gif)
        return {"slices": len(self.pngs), "animation": str(gif) if gif else None,
                "volumes": len(self.vtis),
                "pvd": str(self.out / "volume" / "snapshots.pvd") if self.vtis else None}


def _options(p) -> None:
    p.add_argument("--slice-axis", choices=("x", "y", "z"), default="z",
                   help="normal of the slice plane (default: %(default)s)")
    p.add_argument("--slice-index", type=base.non_negative_int, default=None,
                   help="cell index of the slice plane (default: the middle)")
    p.add_argument("--volume-every", type=base.non_negative_int, default=1, metavar="N",
                   help="write a .vti volume every N snapshots, 0 for none (default: 1)")
    p.add_argument("--volume-float64", action="store_true",
                   help="write the volume in float64 (default float32)")
    p.add_argument("--fps", type=base.positive_float, default=4.0,
                   help="frames per second of the GIF (default: %(default)s)")


def _build(args) -> Visualiser:
    return Visualiser(args.out, slice_axis=args.slice_axis, slice_index=args.slice_index,
                      volume_every=args.volume_every, fps=args.fps,
                      volume_float64=args.volume_float64, **base.common_kwargs(args))


def run(out, prefix: str = "", **kw) -> dict:
    """Run the visualiser until it is told to stop; returns its summary."""
    return Visualiser(out, prefix, **kw).run()


def main(argv=None) -> int:
    return base.main_wrapper(_build, argv, name="visualiser",
                             description=__doc__.split("\n\n")[0], add_options=_options)


if __name__ == "__main__":
    raise SystemExit(main())

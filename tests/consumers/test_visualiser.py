"""Visualiser: PNG slices, GIF animation and VTK ImageData volumes, read back."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from eddylearn.consumers import fields, visualiser

from _consumer_data import publish


def read_vti(path) -> tuple[dict, dict]:
    """A minimal reader of pyevtk's .vti (appended raw data, UInt64 block headers)."""
    raw = path.read_bytes()
    start = raw.index(b"<AppendedData")
    base = raw.index(b"_", start) + 1
    head = raw[:start].decode() + "</VTKFile>"
    root = ET.fromstring(re.sub(r"<\?xml[^>]*\?>", "", head))
    assert root.get("type") == "ImageData" and root.get("header_type") == "UInt64"
    assert root.get("byte_order") == "LittleEndian"
    image = root.find("ImageData")
    arrays = {}
    for da in image.iter("DataArray"):
        off = base + int(da.get("offset"))
        nbytes = int(np.frombuffer(raw, "<u8", 1, off)[0])
        dtype = {"Float32": "<f4", "Float64": "<f8"}[da.get("type")]
        data = np.frombuffer(raw, dtype, nbytes // np.dtype(dtype).itemsize, off + 8)
        arrays[da.get("Name")] = (int(da.get("NumberOfComponents")), data)
    assert raw.rstrip().endswith(b"</AppendedData>\n</VTKFile>")
    return dict(image.attrib), arrays


def test_visualiser_outputs_read_back(client, r, solver_snapshots, tmp_path):
    """4 snapshots: 4 PNG slices, a 4-frame GIF, 2 volumes (every 2nd) whose cell data equal
    the centred vorticity magnitude, velocity and pressure (float32), and a .pvd listing them."""
    snaps = solver_snapshots[:4]
    publish(client, snaps, nranks=2)
    summary = visualiser.run(tmp_path, volume_every=2, client=client, raw=r, max_snapshots=4,
                             poll_interval=0.05)
    assert summary["slices"] == 4 and summary["volumes"] == 2
    pngs = sorted((tmp_path / "slices").glob("vorticity_*.png"))
    assert [p.name for p in pngs] == [f"vorticity_{s.step:08d}.png" for s in snaps]
    for p in pngs:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 100
    with Image.open(tmp_path / "vorticity.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 4

    vtis = sorted((tmp_path / "volume").glob("*.vti"))
    assert [v.name for v in vtis] == [f"snapshot_{snaps[i].step:08d}.vti" for i in (0, 2)]
    s = snaps[2]
    attrs, arrays = read_vti(vtis[1])
    assert attrs["WholeExtent"].split() == ["0", "32", "0", "32", "0", "32"]
    assert [float(x) for x in attrs["Origin"].split()] == pytest.approx([-np.pi] * 3)
    assert [float(x) for x in attrs["Spacing"].split()] == pytest.approx([2 * np.pi / 32] * 3)
    assert set(arrays) == {"velocity", "vorticity_magnitude", "p"}
    n = 32 ** 3
    ncomp, om = arrays["vorticity_magnitude"]
    assert ncomp == 1 and om.size == n
    exact = fields.vorticity_magnitude(*(s.fields[f] for f in "uvw"), s.dx)
    np.testing.assert_allclose(om.reshape((32, 32, 32), order="F"), exact, rtol=1e-6,
                               atol=1e-6 * exact.max())
    ncomp, vel = arrays["velocity"]
    assert ncomp == 3 and vel.size == 3 * n
    uc = fields.velocity_centres(s.fields["u"], s.fields["v"], s.fields["w"])[0]
    np.testing.assert_allclose(vel.reshape(n, 3)[:, 0].reshape((32, 32, 32), order="F"), uc,
                               atol=1e-6)
    np.testing.assert_allclose(arrays["p"][1].reshape((32, 32, 32), order="F"), s.fields["p"],
                               atol=1e-6 * np.abs(s.fields["p"]).max())
    pvd = ET.parse(tmp_path / "volume" / "snapshots.pvd").getroot()
    files = [(d.get("file"), float(d.get("timestep"))) for d in pvd.iter("DataSet")]
    assert files == [(v.name, pytest.approx(snaps[i].time)) for v, i in zip(vtis, (0, 2))]


def test_visualiser_without_pressure_and_without_volumes(client, r, solver_snapshots, tmp_path):
    publish(client, solver_snapshots[:1], nranks=1, fields=("u", "v", "w"))
    summary = visualiser.run(tmp_path, volume_every=0, slice_axis="x", client=client, raw=r,
                             max_snapshots=1, poll_interval=0.05)
    assert summary["slices"] == 1 and summary["volumes"] == 0
    assert not (tmp_path / "volume").exists()


def test_visualiser_bad_arguments(client, r, tmp_path):
    with pytest.raises(ValueError, match="slice_axis"):
        visualiser.Visualiser(tmp_path, slice_axis="q", client=client, raw=r)
    with pytest.raises(ValueError, match="volume_every"):
        visualiser.Visualiser(tmp_path, volume_every=-1, client=client, raw=r)

"""Snapshot consumers of the online-learning experiment (each runnable as
``python -m eddylearn.consumers.<name> --prefix P --out DIR``):

- analyser: energy spectrum E(k), energy E(t) and dissipation eps(t), compared with the DNS;
- compressor: streaming POD of the velocity snapshots, compression ratio and error;
- visualiser: vorticity-magnitude slices, an animation, VTK ImageData volumes for ParaView;
- retention: keeps the last K steps of the snapshot and sample lists, counts what it removes;
- trainer: the online SGS trainer (its own module, see its docstring).

The data contract and the options are in docs/consumers.md.
"""
from __future__ import annotations

NAMES = ("analyser", "compressor", "visualiser", "retention", "trainer")

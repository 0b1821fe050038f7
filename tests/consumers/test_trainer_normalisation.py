"""The online trainer's normalisation can be renewed as the flow develops without changing
what the network computes."""
import numpy as np
import pytest
import torch

import io

from eddylearn.consumers.trainer import (DEPLOY_BLOCK_ROWS, FUSED_BLOCK_BYTES, FUSED_BLOCK_ROWS,
                                         DeployedSGS, SGSNet, Trainer, TrainerConfig,
                                         fused_block_rows, group_std, normalisation_drift,
                                         parse_args, scripted_bytes)


def _stats(rng, scale):
    return (rng.normal(size=9) * scale, rng.uniform(0.5, 2.0, 9) * scale,
            rng.normal(size=6) * scale ** 2, rng.uniform(0.5, 2.0, 6) * scale ** 2)


@pytest.mark.parametrize("hidden", [(16,), (64, 64)])
def test_renormalise_keeps_the_models_outputs(hidden):
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    net = SGSNet(hidden)
    net.set_normalisation(*_stats(rng, 1.0))
    x = torch.tensor(rng.normal(size=(500, 9)) * 30, dtype=torch.float32)
    with torch.no_grad():
        before = net(x)
    new = _stats(rng, 30.0)
    net.renormalise(*new)
    with torch.no_grad():
        after = net(x)
    scale = before.abs().max()
    assert torch.allclose(after, before, rtol=0, atol=1e-4 * float(scale))
    for name, val in zip(("f_mean", "f_std", "l_mean", "l_std"), new):
        assert np.allclose(getattr(net, name).numpy(), val, rtol=1e-6)
    # and the scripted model (what the database runs) computes the same
    scripted = torch.jit.script(net)
    with torch.no_grad():
        assert torch.allclose(scripted(x), after)


@pytest.mark.parametrize("hidden, activation", [((8,), "gelu"), ((32,), "gelu"),
                                                ((16, 16), "gelu"), ((32,), "relu"),
                                                ((16, 16), "relu"), ((32,), "hardswish"),
                                                ((16, 16), "hardswish"), ((64, 64), "gelu")])
@pytest.mark.parametrize("fused", [
    pytest.param(True, marks=pytest.mark.skipif(not torch.backends.mkldnn.is_available(),
                                                reason="this torch has no oneDNN")),
    False])
def test_the_deployed_model_computes_the_networks_function(hidden, activation, fused):
    """The TorchScript model stored in the database (normalisation folded into the layers,
    rows in blocks; oneDNN's fused layers or the W x^T products) gives the trained network's
    stresses for any number of rows — none, fewer than a block, a block and one more, several
    fused blocks — in the input's floating type, with either activation."""
    rng = np.random.default_rng(5)
    torch.manual_seed(5)
    net = SGSNet(hidden, activation=activation)
    net.set_normalisation(*_stats(rng, 3.0))
    deployed = torch.jit.load(io.BytesIO(scripted_bytes(net, fused=fused)))
    assert deployed.fused is fused
    # the form asked for is the one that runs: oneDNN's fused operator exactly when fused
    with torch.profiler.profile() as prof, torch.no_grad():
        deployed(torch.zeros(5, 9))
    ran = {e.name for e in prof.events()}
    assert ("mkldnn::_linear_pointwise" in ran) is fused, sorted(ran)
    assert [b.shape for n, b in deployed.named_buffers() if n.endswith("weight")] == \
        [p.shape for n, p in net.mlp.named_parameters() if n.endswith("weight")]
    for rows in (0, 1, DEPLOY_BLOCK_ROWS - 1, DEPLOY_BLOCK_ROWS + 1, 3 * DEPLOY_BLOCK_ROWS,
                 2 * deployed.fused_block_rows + 5):
        x = torch.tensor(rng.normal(size=(rows, 9)) * 3, dtype=torch.float64)
        with torch.no_grad():
            want = net(x)
            got = deployed(x)
            got32 = deployed(x.float())
        assert got.shape == (rows, 6) and got.dtype == torch.float64 and got.is_contiguous()
        assert got32.dtype == torch.float32
        scale = float(want.abs().max()) if rows else 1.0
        assert torch.allclose(got, want, rtol=0, atol=1e-5 * scale)
        assert torch.allclose(got32.double(), want, rtol=0, atol=1e-5 * scale)
    # a change of the live network after deployment does not reach the deployed copy
    x = torch.ones(4, 9, dtype=torch.float64)
    with torch.no_grad():
        frozen = DeployedSGS(net)
        before = frozen(x)
        net.mlp[0].bias += 1.0
        assert torch.equal(frozen(x), before)
        assert not torch.allclose(net(x), before)


def test_the_stored_model_fuses_its_layers_where_torch_has_onednn(monkeypatch):
    """scripted_bytes stores the fused form when this torch has oneDNN (the CPU wheel does),
    the W x^T form otherwise; asking for the fused form without oneDNN is refused by name."""
    torch.manual_seed(3)
    net = SGSNet((8,))
    fused = torch.jit.load(io.BytesIO(scripted_bytes(net))).fused
    assert fused is torch.backends.mkldnn.is_available()
    assert torch.jit.load(io.BytesIO(scripted_bytes(net, fused=False))).fused is False
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert torch.jit.load(io.BytesIO(scripted_bytes(net))).fused is False
    with pytest.raises(ValueError, match="fused=True needs a torch with oneDNN"):
        DeployedSGS(net, fused=True)


def test_the_fused_blocks_keep_the_widest_layer_in_a_cores_cache():
    """Blocks of the fused form: FUSED_BLOCK_ROWS for narrow networks; fewer rows, halved until
    the widest layer's input and output fit in FUSED_BLOCK_BYTES, for wide ones; never under 256."""
    assert fused_block_rows([9, 32, 6]) == FUSED_BLOCK_ROWS == 8192
    assert fused_block_rows([9, 64, 64, 6]) == 4096     # 64 -> 64: 4096 x 128 x 4 B = 2 MiB
    assert fused_block_rows([9, 128, 128, 6]) == 2048
    assert fused_block_rows([9, 4096, 4096, 6]) == 256  # too wide for any block: the floor
    with pytest.raises(ValueError, match="at least one layer"):
        fused_block_rows([9])
    for widths in ([9, 16, 6], [9, 64, 6], [9, 48, 80, 6], [9, 100, 300, 6], [9, 512, 6]):
        rows, widest = fused_block_rows(widths), max(a + b for a, b in zip(widths, widths[1:]))
        assert rows * widest * 4 <= FUSED_BLOCK_BYTES
        assert rows == FUSED_BLOCK_ROWS or 2 * rows * widest * 4 > FUSED_BLOCK_BYTES
    # the deployed model takes its blocks from its own widths, and keeps them when scripted
    assert DeployedSGS(SGSNet((64, 64)), fused=False).fused_block_rows == 4096
    assert DeployedSGS(SGSNet((32,)), fused=False).fused_block_rows == 8192
    stored = torch.jit.load(io.BytesIO(scripted_bytes(SGSNet((128, 128)), fused=False)))
    assert stored.fused_block_rows == 2048


def test_normalisation_drift_measures_std_factor_and_mean_shift():
    old = (np.zeros(9), np.ones(9), np.zeros(6), np.ones(6))
    assert normalisation_drift(old, old) == 0.0
    wider = (np.zeros(9), np.ones(9), np.zeros(6), np.full(6, np.e))
    assert normalisation_drift(old, wider) == pytest.approx(1.0)
    shifted = (np.full(9, 0.25), np.ones(9), np.zeros(6), np.ones(6))
    assert normalisation_drift(old, shifted) == pytest.approx(0.25)


def test_negative_renormalise_drift_is_refused():
    with pytest.raises(ValueError, match="renormalise_drift must be >= 0"):
        TrainerConfig(renormalise_drift=-1.0).validate()


def test_a_vanishing_standard_deviation_takes_the_groups_largest():
    """w is zero in the TGV's first samples: its gradients' spread must not become 1e-12."""
    std = group_std(np.array([4.0, 1.0, 0.0, 1e-20]))
    assert std.tolist() == [2.0, 1.0, 2.0, 2.0]
    assert group_std(np.zeros(6)).tolist() == [1.0] * 6


def test_the_activation_is_the_networks_and_unknown_ones_are_refused():
    """GELU, ReLU and Hardswish networks with the same weights differ, and each deployed form
    follows its own; an unknown activation is named in the error."""
    rng = np.random.default_rng(7)
    x = torch.tensor(rng.normal(size=(300, 9)) * 3, dtype=torch.float32)
    outs = {}
    for activation in ("gelu", "relu", "hardswish"):
        torch.manual_seed(7)
        net = SGSNet((16,), activation=activation)
        deployed = torch.jit.load(io.BytesIO(scripted_bytes(net)))
        with torch.no_grad():
            outs[activation] = net(x)
            assert torch.allclose(deployed(x), outs[activation], rtol=0, atol=1e-5)
    for a, b in (("gelu", "relu"), ("gelu", "hardswish"), ("relu", "hardswish")):
        assert not torch.allclose(outs[a], outs[b], rtol=0, atol=1e-3)
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        SGSNet((8,), activation="tanh")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        TrainerConfig(activation="swish").validate()


def test_a_network_with_another_activation_is_not_deployed():
    net = SGSNet((8,))
    net.mlp[1] = torch.nn.Tanh()
    with pytest.raises(ValueError, match="GELU, ReLU or Hardswish only"):
        DeployedSGS(net)


def test_the_trainer_takes_the_activation_and_resumes_only_the_same(tmp_path):
    """--activation reaches the trainer's network; a checkpoint of the other activation (whose
    weights would load without complaint: neither has parameters) is refused by name, one of
    the same is resumed, and one written before the choice counts as GELU."""
    cfg = parse_args(["--out", str(tmp_path), "--activation", "relu"])
    assert cfg.activation == "relu"
    assert parse_args(["--out", str(tmp_path)]).activation == "gelu"
    torch.manual_seed(0)
    net = SGSNet((8,), activation="gelu")
    opt = torch.optim.Adam(net.parameters())
    state = {"model": net.state_dict(), "opt": opt.state_dict(), "step": 42, "version": 3,
             "delta": 0.1, "history": [], "activation": "gelu"}
    ckpt = tmp_path / "trainer.ckpt.pt"
    torch.save(state, ckpt)
    base = {"out": str(tmp_path), "hidden": (8,)}
    with pytest.raises(ValueError, match="gelu activations, not relu.*--activation gelu"):
        Trainer(TrainerConfig(activation="relu", **base), client=object())
    tr = Trainer(TrainerConfig(activation="gelu", **base), client=object())
    assert (tr.step, tr.version) == (42, 3) and tr.net.activation == "gelu"
    del state["activation"]
    torch.save(state, ckpt)
    with pytest.raises(ValueError, match="gelu activations, not relu"):
        Trainer(TrainerConfig(activation="relu", **base), client=object())

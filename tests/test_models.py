import pytest
import torch

from repro.config import ConfigError
from repro.data.modular import build
from repro.models import build_model
from repro.models.transformer import Transformer


@pytest.mark.parametrize(
    "model",
    [
        {"name": "transformer", "n_layers": 2, "d_model": 16, "n_heads": 4, "d_mlp": 32},
        {"name": "transformer", "n_layers": 1, "d_model": 16, "n_heads": 2, "layer_norm": False},
        {"name": "mlp", "hidden": 32, "n_layers": 2, "d_embed": 8},
        {"name": "lstm", "hidden": 20, "d_embed": 8},
        {"name": "quadratic", "hidden": 12},
    ],
)
@pytest.mark.parametrize("encoding", ["tokens", "onehot"])
def test_models_give_logits_per_class(model, encoding):
    dataset = build(11, "add", 0.5, encoding=encoding)
    network = build_model(model, dataset)
    logits = network(dataset.train.inputs[:5])
    assert logits.shape == (5, 11)
    logits.sum().backward()
    assert all(p.grad is not None for p in network.parameters())


def test_last_position_shortcut_is_exact():
    """The last block computes only the answer position; it must equal the full computation."""
    torch.manual_seed(0)
    dataset = build(13, "add", 0.5)
    model = Transformer(dataset.vocab_size, 4, 13, n_layers=2, d_model=32, n_heads=4, d_mlp=64)
    inputs = dataset.train.inputs[:50]
    fast = model(inputs)
    x = model.embed(inputs) + model.position
    for block in model.blocks:
        x = block(x, last_only=False)  # every position, as the papers' code does
    full = model.unembed(model.ln_final(x))[:, -1]
    torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-6)


def test_attention_is_causal():
    torch.manual_seed(0)
    model = Transformer(10, 4, 10, n_layers=1, d_model=16, n_heads=2, d_mlp=16)
    block = model.blocks[0]
    x = torch.randn(3, 4, 16)
    changed = x.clone()
    changed[:, 3] += 1.0  # only the last position changes
    out, out_changed = block(x), block(changed)
    torch.testing.assert_close(out[:, :3], out_changed[:, :3])


def test_unknown_model_key_is_rejected():
    dataset = build(7, "add", 0.5)
    with pytest.raises(ConfigError, match="model.d_model: unknown key for model 'lstm'"):
        build_model({"name": "lstm", "d_model": 3}, dataset)


def test_quadratic_net_is_v_times_the_squared_preactivation_for_both_encodings():
    """f_c = sum_k V_ck (Q_ka + R_kb)^2, whether (a, b) arrive as tokens or one-hot vectors."""
    tokens, onehot = build(11, "add", 0.5), build(11, "add", 0.5, encoding="onehot")
    torch.manual_seed(0)
    network = build_model({"name": "quadratic", "hidden": 12, "init_scale": 0.5}, onehot)
    a, b = tokens.train.inputs[:, 0], tokens.train.inputs[:, 2]
    expected = (network.W[:, a] + network.W[:, 11 + b]).T.pow(2) @ network.V.T
    assert torch.allclose(network(onehot.train.inputs), expected, atol=1e-6)
    network.onehot, network.b_position = False, 2
    assert torch.allclose(network(tokens.train.inputs), expected, atol=1e-6)

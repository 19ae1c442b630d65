import pytest
import torch

from repro.config import ConfigError
from repro.data import build_dataset, check_data_config
from repro.data.modular import build, evaluate, is_prime


def brute_force(function, p):
    return {(a, b): function(a, b) % p for a in range(p) for b in range(p)}


@pytest.mark.parametrize(
    "operation, function",
    [
        ("add", lambda a, b: a + b),
        ("a-b", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("a^2+a*b+b^2", lambda a, b: a * a + a * b + b * b),
        ("a^3+a*b^2+b", lambda a, b: a**3 + a * b * b + b),
        ("-a+2*b", lambda a, b: -a + 2 * b),
    ],
)
def test_operations_match_brute_force(operation, function):
    p = 13
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).unbind(1)
    values, valid = evaluate(operation, a, b, p)
    assert valid.all()
    expected = brute_force(function, p)
    assert all(int(v) == expected[(int(x), int(y))] for x, y, v in zip(a, b, values, strict=False))


def test_division_is_multiplication_by_the_inverse_and_skips_zero():
    p = 11
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).unbind(1)
    values, valid = evaluate("div", a, b, p)
    assert not valid[b == 0].any() and valid[b != 0].all()
    assert ((values[valid] * b[valid]) % p == a[valid]).all()
    dataset = build(p, "div", 0.5)
    assert len(dataset.train) + len(dataset.val) == p * (p - 1)


def test_split_is_deterministic_disjoint_and_sized():
    first = build(11, "add", 0.3, split_seed=4)
    again = build(11, "add", 0.3, split_seed=4)
    other = build(11, "add", 0.3, split_seed=5)
    assert torch.equal(first.train.inputs, again.train.inputs)
    assert not torch.equal(first.train.inputs, other.train.inputs)
    assert len(first.train) == round(0.3 * 121) and len(first.val) == 121 - len(first.train)
    train_pairs = {tuple(x) for x in first.train.inputs[:, [0, 2]].tolist()}
    val_pairs = {tuple(x) for x in first.val.inputs[:, [0, 2]].tolist()}
    assert not train_pairs & val_pairs and len(train_pairs | val_pairs) == 121


def test_encodings():
    tokens = build(7, "add", 0.5, encoding="tokens")
    assert tokens.train.inputs.dtype == torch.long and tokens.train.inputs.shape[1] == 4
    assert (tokens.train.inputs[:, 1] == 7).all() and (tokens.train.inputs[:, 3] == 8).all()
    assert tokens.vocab_size == 9
    onehot = build(7, "add", 0.5, encoding="onehot")
    assert onehot.train.inputs.shape[1] == 14 and onehot.train.inputs.sum(1).eq(2).all()
    a = onehot.train.inputs[:, :7].argmax(1)
    b = onehot.train.inputs[:, 7:].argmax(1)
    assert torch.equal((a + b) % 7, onehot.train.labels)


def test_split_seed_defaults_to_the_run_seed():
    config = {"name": "modular", "p": 11, "operation": "add", "train_fraction": 0.5}
    assert torch.equal(
        build_dataset(config, 3).train.labels, build(11, "add", 0.5, split_seed=3).train.labels
    )


@pytest.mark.parametrize(
    "data, message",
    [
        ({"p": 12}, "data.p: 12 is not prime"),
        ({"operation": "a%b"}, "data.operation"),
        ({"operation": "log(a)"}, "data.operation"),
        ({"operation": "a^b"}, "exponents"),
        ({"train_fraction": 1.0}, "data.train_fraction"),
        ({"bogus": 1}, "data.bogus: unknown key"),
    ],
)
def test_bad_data_configs_name_the_key(data, message):
    config = {"name": "modular", "p": 11, "operation": "add", "train_fraction": 0.5, **data}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        check_data_config(config)


def test_is_prime():
    assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]

"""The compiled passes of the bundled token quadratic net (repro.models.pair_kernels) give, bit
for bit, what the torch operations they replace give; and the fused optimizer's memory-order
views (repro.batched.memory_order) change no update."""

import pytest
import torch

from repro.batched import StackedOptimizer, memory_order
from repro.config import OptimizerConfig
from repro.models import pair_kernels


def table_and_rows(n_models=3, p=5, hidden=7, batch=11, seed=0):
    """A (n_models * 2p, hidden) table and rows that repeat: every model's a-rows and b-rows."""
    generator = torch.Generator().manual_seed(seed)
    table = torch.randn(n_models * 2 * p, hidden, generator=generator)
    offsets = torch.arange(n_models)[:, None] * 2 * p
    a = torch.randint(0, p, (n_models, batch), generator=generator) + offsets
    b = torch.randint(0, p, (n_models, batch), generator=generator) + offsets + p
    return table, torch.stack([a, b], dim=-1).view(-1, 2), generator


def test_squared_sums_are_the_torch_operations_bit_for_bit():
    table, rows, _ = table_and_rows()
    h = pair_kernels.squared_sums(table, rows)
    assert h.shape == (len(rows), table.shape[1])
    assert torch.equal(h, pair_kernels.squared_sums_torch(table, rows))
    z = table[rows[:, 0]] + table[rows[:, 1]]
    assert torch.equal(h, z * z)


def test_table_gradient_is_the_torch_operations_bit_for_bit():
    table, rows, generator = table_and_rows()
    grad_h = torch.randn(len(rows), table.shape[1], generator=generator)
    gradient = pair_kernels.table_gradient(table, rows, grad_h)
    assert torch.equal(gradient, pair_kernels.table_gradient_torch(table, rows, grad_h))
    # and it is the gradient autograd takes through the torch operations
    leaf = table.clone().requires_grad_()
    (pair_kernels.squared_sums_torch(leaf, rows) * grad_h).sum().backward()
    torch.testing.assert_close(gradient, leaf.grad, rtol=1e-6, atol=1e-6)
    unused = torch.ones(len(table), dtype=torch.bool)
    unused[rows.flatten()] = False
    assert unused.any() and not gradient[unused].any()  # rows no example uses stay zero


def test_table_gradient_reads_a_transposed_view_as_its_values():
    """The bundle passes W^T flattened, a view; a non-contiguous table is read by value."""
    table, rows, generator = table_and_rows()
    stored = table.t().contiguous().t()  # same values, column-major
    grad_h = torch.randn(len(rows), table.shape[1], generator=generator)
    assert torch.equal(
        pair_kernels.table_gradient(stored, rows, grad_h),
        pair_kernels.table_gradient(table, rows, grad_h),
    )
    assert torch.equal(
        pair_kernels.squared_sums(stored, rows), pair_kernels.squared_sums(table, rows)
    )


def test_memory_order_gives_contiguous_views_of_the_same_memory():
    stored = torch.randn(4, 6, 5)
    weights = stored.transpose(1, 2)  # (4, 5, 6), as the bundle's W
    views = memory_order(weights, weights.clone().transpose(1, 2).contiguous().transpose(1, 2))
    assert all(v.is_contiguous() for v in views)
    assert views[0].data_ptr() == stored.data_ptr() and views[0].shape == (4, 6, 5)
    odd = torch.randn(4, 5, 6)  # laid out unlike the first: the tensors come back unchanged
    assert memory_order(weights, odd)[1] is odd


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_update_of_a_transposed_parameter_is_that_of_a_contiguous_one(name):
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(3, 6, 5, generator=generator)
    gradients = [torch.randn(3, 6, 5, generator=generator) for _ in range(3)]
    configs = [OptimizerConfig(name=name, lr=1e-2, weight_decay=0.5) for _ in range(3)]
    transposed = values.clone().transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    contiguous = values.clone().requires_grad_()
    assert not transposed.is_contiguous()
    optimizers = [StackedOptimizer([p], configs) for p in (transposed, contiguous)]
    assert all(o.fused for o in optimizers)
    for gradient in gradients:
        for parameter, optimizer in zip((transposed, contiguous), optimizers, strict=True):
            parameter.grad = gradient.clone()
            if not parameter.is_contiguous():
                parameter.grad = gradient.transpose(1, 2).contiguous().transpose(1, 2)
            optimizer.step()
    assert torch.equal(transposed.detach(), contiguous.detach())


@pytest.mark.parametrize("loss", ["logits", "cross_entropy"])
def test_a_second_backward_through_the_bundled_quadratic_net_raises(loss):
    """Its backward writes over saved activations (dL/dh over h, the softmax's gradient over
    the exponentials): a second backward through the same graph must fail loudly, not use
    them."""
    from repro.models.stacked_quadratic import quadratic_cross_entropy, quadratic_forward

    generator = torch.Generator().manual_seed(0)
    params = {
        "W": torch.randn(2, 6, 10, generator=generator).requires_grad_(),
        "V": torch.randn(2, 5, 6, generator=generator).requires_grad_(),
    }
    inputs = torch.stack(
        [torch.randint(0, 5, (2, 4), generator=generator), torch.full((2, 4), 5)], dim=-1
    )
    inputs = torch.cat([inputs, torch.randint(0, 5, (2, 4, 1), generator=generator)], dim=-1)
    labels = torch.randint(0, 5, (2, 4), generator=generator)
    if loss == "logits":
        total = quadratic_forward(params, inputs, b_position=2).sum()
    else:
        total = quadratic_cross_entropy(params, inputs, labels, b_position=2).sum()
    total.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="inplace"):
        total.backward()

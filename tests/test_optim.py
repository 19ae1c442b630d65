import torch

from repro.config import OptimizerConfig
from repro.optim import add_gradient_noise, add_weight_noise, build_optimizer, build_scheduler


def test_linear_warmup():
    parameter = torch.nn.Parameter(torch.zeros(3))
    config = OptimizerConfig(name="adamw", lr=1.0, warmup_steps=4)
    optimizer = build_optimizer([parameter], config)
    scheduler = build_scheduler(optimizer, config)
    rates = []
    for _ in range(6):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_optimizers_and_weight_decay_kinds():
    for name, kind in (
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
        ("sgd", torch.optim.SGD),
    ):
        optimizer = build_optimizer(
            [torch.nn.Parameter(torch.ones(2))],
            OptimizerConfig(name=name, weight_decay=0.1, momentum=0.9),
        )
        assert isinstance(optimizer, kind)
        assert optimizer.param_groups[0]["weight_decay"] == 0.1


def test_noise_is_reproducible_and_has_the_requested_scale():
    def noisy(seed):
        parameter = torch.nn.Parameter(torch.zeros(20000))
        parameter.grad = torch.zeros(20000)
        generator = torch.Generator().manual_seed(seed)
        add_gradient_noise([parameter], 0.5, generator)
        add_weight_noise([parameter], 0.1, generator)
        return parameter.grad.clone(), parameter.detach().clone()

    grad, weight = noisy(1)
    again = noisy(1)
    assert torch.equal(grad, again[0]) and torch.equal(weight, again[1])
    assert abs(grad.std().item() - 0.5) < 0.02 and abs(weight.std().item() - 0.1) < 0.005

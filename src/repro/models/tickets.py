"""The two networks of Grokking Tickets (Minegishi et al., arXiv 2310.19470; official code
gouki510/Grokking-Tickets, `model.py`), for inputs [onehot(a) | onehot(b)].

- `TicketsMLP` (v3 Eq. 1): softmax(relu((E_a + E_b) W_in) W_out W_U). The two embeddings are
  summed, not concatenated; no biases anywhere.
- `TicketsTransformer`: one block, one head, no LayerNorm, no positional embedding, no biases,
  logits at the last of the two positions (the official code; v3 App. B.2 lists W_pos, biases and
  d_emb 500 instead: see config/papers/tickets.yaml for the choice).

Every weight is drawn from N(0, (weight_scale / sqrt(fan_in))^2): the official code's W_E std
1/sqrt(p), inproj 1/sqrt(d_embed), outproj 1/sqrt(hidden), W_U 1/sqrt(d_embed). Parameter names
are the ones pruning and the figures look for (embed, inproj, outproj, unembed, ...).

The embedding stays a bias-free Linear (weight d x p, as the masks and figures expect), but a
one-hot input on the CPU is embedded by looking up its columns (`embed_onehot`): the same
numbers as the (n, 2, p) @ (p, d) product, without its two dense matmuls (forward and weight
gradient), a third of the MLP's matmul FLOPs at p = 67, d_embed 500, hidden 48 (the step's
forward and backward run 1.4x faster: bench/tickets_mlp.py). Other inputs take the product.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def linear(fan_in: int, fan_out: int, weight_scale: float, edge_popup_rate: float = 0.0):
    layer = (
        SupermaskLinear(fan_in, fan_out, edge_popup_rate)
        if edge_popup_rate
        else nn.Linear(fan_in, fan_out, bias=False)
    )
    nn.init.normal_(layer.weight, std=weight_scale / math.sqrt(fan_in))
    return layer


class TopScores(torch.autograd.Function):
    """The 0/1 mask of the highest scores (a fraction `keep` of them); the backward pass is the
    straight-through estimator of edge-popup (Ramanujan et al. 2020): the gradient with respect
    to the mask is passed to the scores unchanged."""

    @staticmethod
    def forward(ctx, scores: torch.Tensor, keep: float) -> torch.Tensor:
        n_keep = round(keep * scores.numel())
        mask = torch.zeros_like(scores).flatten()
        mask[torch.argsort(scores.flatten(), descending=True, stable=True)[:n_keep]] = 1.0
        return mask.view_as(scores)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


class SupermaskLinear(nn.Linear):
    """A bias-free linear layer whose weight is used through the mask of its top scores
    (edge-popup, v3 section 5.3; the official `slth` branch's SupermaskLinear). The scores start
    kaiming-uniform, as there; the pruning rate is the fraction of edges REMOVED, per layer."""

    def __init__(self, fan_in: int, fan_out: int, pruning_rate: float):
        super().__init__(fan_in, fan_out, bias=False)
        self.pruning_rate = pruning_rate
        self.scores = nn.Parameter(torch.empty_like(self.weight))
        nn.init.kaiming_uniform_(self.scores, a=math.sqrt(5))

    def masked_weight(self) -> torch.Tensor:
        return self.weight * TopScores.apply(self.scores.abs(), 1.0 - self.pruning_rate)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(inputs, self.masked_weight())


def onehot_indices(x: torch.Tensor) -> torch.Tensor | None:
    """The index of the 1 in every row (last axis) of x, or None when x is not exactly one-hot
    (or needs an input gradient, or is not on the CPU: there the check would cost a host sync
    per step and the dense product is cheap anyway)."""
    if x.device.type != "cpu" or x.requires_grad:
        return None
    positions = x @ torch.arange(x.shape[-1], dtype=x.dtype)  # exact for one-hot rows
    indices = positions.long().clamp_(0, x.shape[-1] - 1)  # (cheaper than argmax)
    is_onehot = torch.count_nonzero(x) == indices.numel() and bool(
        (x.gather(-1, indices.unsqueeze(-1)) == 1).all()
    )  # a 1 at every index, and no other nonzero
    return indices if is_onehot else None


def lookup_table(layer: nn.Linear) -> torch.Tensor:
    """The (p x d) table of an embedding Linear (weight d x p), contiguous so that its rows
    are gathered fast (its gradient is copied back to the weight's layout, p x d numbers).
    Edge-popup layers give their masked weight; under autocast, the Linear's dtype."""
    weight = layer.masked_weight() if isinstance(layer, SupermaskLinear) else layer.weight
    if torch.is_autocast_enabled("cpu"):
        weight = weight.to(torch.get_autocast_dtype("cpu"))
    return weight.t().contiguous()


def onehot_rows(layer: nn.Linear, x: torch.Tensor) -> list[torch.Tensor] | None:
    """For x (n, k, p) of one-hot rows: the k (n, d) columns of the (d x p) weight at the 1s,
    looked up instead of multiplied (the same numbers: every product but one is an exact 0;
    the weight gradient is added into those columns). None for any other input."""
    indices = onehot_indices(x)
    if indices is None:
        return None
    table = lookup_table(layer)
    return [table.index_select(0, i) for i in indices.unbind(1)]


def embed_onehot(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """layer(x), (n, k, d), by column lookup when x is one-hot."""
    rows = onehot_rows(layer, x)
    return layer(x) if rows is None else torch.stack(rows, 1)


def sum_embed_onehot(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """embed_onehot(layer, x).sum(1), (n, d), without the (n, k, d) intermediate."""
    rows = onehot_rows(layer, x)
    return layer(x).sum(1) if rows is None else sum(rows[1:], rows[0])


def _check_onehot(onehot: bool, seq_len: int, name: str) -> None:
    if not onehot or seq_len != 2:
        raise ValueError(f"{name} needs data.encoding onehot with two operands (a, b)")


class TicketsMLP(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = True,
        d_embed: int = 500,
        hidden: int = 48,
        weight_scale: float = 1.0,
        edge_popup_rate: float = 0.0,
    ):
        """edge_popup_rate > 0: every layer is a SupermaskLinear (edge-popup, Table 1)."""
        super().__init__()
        _check_onehot(onehot, seq_len, "tickets_mlp")
        if not 0 <= edge_popup_rate < 1:
            raise ValueError(f"edge_popup_rate={edge_popup_rate} is outside [0, 1)")
        self.vocab_size = vocab_size
        args = (weight_scale, edge_popup_rate)
        self.embed = linear(vocab_size, d_embed, *args)  # weight: d_embed x p
        self.inproj = linear(d_embed, hidden, *args)
        self.outproj = linear(hidden, d_embed, *args)
        self.unembed = linear(d_embed, n_classes, *args)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        onehots = inputs.view(inputs.shape[0], 2, self.vocab_size)
        x = sum_embed_onehot(self.embed, onehots)  # E_a + E_b
        return self.unembed(self.outproj(torch.relu(self.inproj(x))))


class TicketsTransformer(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = True,
        d_model: int = 128,
        n_heads: int = 1,
        d_mlp: int = 128,
        weight_scale: float = 1.0,
    ):
        super().__init__()
        _check_onehot(onehot, seq_len, "tickets_transformer")
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.vocab_size, self.n_heads = vocab_size, n_heads
        self.embed = linear(vocab_size, d_model, weight_scale)
        self.query = linear(d_model, d_model, weight_scale)
        self.key = linear(d_model, d_model, weight_scale)
        self.value = linear(d_model, d_model, weight_scale)
        self.attention_out = linear(d_model, d_model, weight_scale)
        self.inproj = linear(d_model, d_mlp, weight_scale)
        self.outproj = linear(d_mlp, d_model, weight_scale)
        self.unembed = linear(d_model, n_classes, weight_scale)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        n = inputs.shape[0]
        x = embed_onehot(self.embed, inputs.view(n, 2, self.vocab_size))  # (n, 2, d)
        head = x.shape[-1] // self.n_heads
        q = self.query(x[:, -1]).view(n, 1, self.n_heads, head)
        k = self.key(x).view(n, 2, self.n_heads, head)
        v = self.value(x).view(n, 2, self.n_heads, head)
        # the last position attends to both positions (causal: nothing lies after it). With
        # two keys, products and sums over (n, 2, heads, head): as q k^T and weights v, but
        # without n tiny batched matmuls (a quarter of the step on the CPU)
        weights = ((q * k).sum(-1) / math.sqrt(head)).softmax(dim=1)  # (n, 2, heads)
        mixed = (weights.unsqueeze(-1) * v).sum(1).reshape(n, -1)
        h = x[:, -1] + self.attention_out(mixed)
        h = h + self.outproj(torch.relu(self.inproj(h)))
        return self.unembed(h)


class TicketsMnistMLP(nn.Module):
    """The official MnistMLP: 784 -> 200 -> 200 -> 10, ReLU, no biases, init
    N(0, (weight_scale / sqrt(fan_in))^2) with weight_scale 8 (the Omnigrok large init)."""

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        onehot: bool = True,
        hidden: int = 200,
        n_layers: int = 2,
        weight_scale: float = 8.0,
    ):
        super().__init__()
        widths = [vocab_size * seq_len] + [hidden] * n_layers + [n_classes]
        self.layers = nn.ModuleList(
            linear(fan_in, fan_out, weight_scale)
            for fan_in, fan_out in zip(widths, widths[1:], strict=False)
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.flatten(1)
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)

"""Minibatch indices on the training device without a host-device sync per step.

repro.train draws each epoch's order on the CPU (from the run's own generator, so a run's batches
do not depend on the device and checkpoints stay device-free). Copying every minibatch's indices
to CUDA would make the host wait for the device once per step (a copy from pageable memory is
synchronous); this copies the epoch's order once per epoch and slices it on the device. On the
CPU it returns the indices unchanged, so CPU runs are bit-identical with or without it.
"""

from __future__ import annotations

import torch


class DeviceOrder:
    def __init__(self, device: torch.device):
        self.device = device
        self.source: torch.Tensor | None = None  # the CPU epoch order last copied
        self.copy: torch.Tensor | None = None  # ... and its copy on the device

    def batch(self, state, indices: torch.Tensor | None) -> torch.Tensor | None:
        """The device's slice for `indices`, which next_batch just cut from state.epoch_order
        (ending at state.position)."""
        if indices is None or self.device.type == "cpu":
            return indices
        if self.source is not state.epoch_order:
            self.source, self.copy = state.epoch_order, state.epoch_order.to(self.device)
        return self.copy[state.position - len(indices) : state.position]

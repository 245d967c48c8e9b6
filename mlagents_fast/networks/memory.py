"""Recurrent memory (`network_settings.memory`): ML-Agents' LSTM after the network body.

A memory of `memory_size` floats is the LSTM's hidden and cell states side by side (each
`memory_size / 2`), as ML-Agents keeps it, so one array per agent carries it between steps and
into the ONNX model (`recurrent_in` / `recurrent_out`). Initialisation as ML-Agents'
`lstm_layer`: each gate's block of weights Xavier-uniform, biases zero, then 1 added to the
forget gate's block of both biases.
"""

from __future__ import annotations

import torch
from torch import nn

from mlagents_fast.networks import native_lstm

FORGET_BIAS = 1.0


class LSTMMemory(nn.Module):
    def __init__(self, input_size: int, memory_size: int) -> None:
        super().__init__()
        self.memory_size = memory_size
        self.hidden_size = memory_size // 2
        # On the CPU, the recurrence natively (native_lstm.py); False keeps torch's LSTM (the
        # reference the tests compare against).
        self.native = True
        self.lstm = nn.LSTM(input_size, self.hidden_size, num_layers=1, batch_first=True)
        with torch.no_grad():
            for name, parameter in self.lstm.named_parameters():
                blocks = parameter.data.chunk(4, dim=0)  # torch's gate order: input, forget, cell, output
                for gate, block in enumerate(blocks):
                    if name.startswith("weight"):
                        nn.init.xavier_uniform_(block)
                    else:
                        block.zero_()
                        if gate == 1:
                            block.add_(FORGET_BIAS)

    def forward(
        self, encoding: torch.Tensor, memories: torch.Tensor, sequence_length: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`encoding` [N x sequence_length, H] (N sequences, each in time order) from `memories`
        [N, memory_size]: the outputs [N x sequence_length, memory_size / 2] and the memories
        after each sequence's last step [N, memory_size]."""
        sequences = encoding.reshape(-1, sequence_length, encoding.shape[-1])
        if self.native and native_lstm.usable(encoding):
            hidden_size = self.hidden_size
            output, hidden, cell = native_lstm.lstm(
                sequences, memories[:, :hidden_size], memories[:, hidden_size:], self.lstm
            )
            return output.reshape(-1, hidden_size), torch.cat([hidden, cell], dim=-1)
        state = self.split(memories)
        output, (hidden, cell) = self.lstm(sequences, state)
        return output.reshape(-1, self.hidden_size), torch.cat([hidden[0], cell[0]], dim=-1)

    def split(self, memories: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[N, memory_size] -> the LSTM's (hidden, cell), each [1, N, memory_size / 2]."""
        memories = memories.unsqueeze(0)
        return memories[..., : self.hidden_size].contiguous(), memories[..., self.hidden_size :].contiguous()

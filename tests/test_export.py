"""The exported ONNX policy: ML-Agents' names and constants, and the torch policy's actions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from mlagents_fast.envs.native.env import NativeVectorEnv
from mlagents_fast.export import export_onnx
from mlagents_fast.networks.actor_critic import Actor
from mlagents_fast.networks.encoders import VectorInput


@pytest.mark.parametrize("name", ["3DBall", "GridWorld", "Basic"])
def test_onnx_matches_torch_deterministic_actions(name: str, tmp_path: Path) -> None:
    env = NativeVectorEnv(name, 2, seed=3, **({"resolution": 20} if name == "GridWorld" else {}))
    spec = env.behavior_specs[name]
    torch.manual_seed(0)
    actor = Actor(spec, normalize=True, hidden_units=32, num_layers=2)
    for _, processor in actor.network_body.vector_inputs():  # non-trivial statistics, baked into the graph
        assert isinstance(processor, VectorInput)
        processor.set_statistics(torch.rand(processor.size), torch.rand(processor.size) + 0.5)
    path = tmp_path / f"{name}.onnx"
    export_onnx(actor, spec, path)
    session = ort.InferenceSession(str(path))
    batch = env.batch(name)
    feed = {f"obs_{i}": o for i, o in enumerate(batch.obs)}
    allowed = torch.ones(len(batch.reward), 0)
    if batch.action_mask is not None:
        feed["action_masks"] = (~batch.action_mask).astype(np.float32)
        allowed = torch.from_numpy(feed["action_masks"])
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feed), strict=True))
    assert outputs["version_number"].tolist() == [3.0] and outputs["memory_size"].tolist() == [0.0]
    with torch.no_grad():
        expected = actor([torch.from_numpy(o) for o in batch.obs], allowed, deterministic=True)
    if spec.action_spec.continuous_size:
        np.testing.assert_allclose(
            outputs["deterministic_continuous_actions"], np.clip(expected.continuous.numpy(), -3, 3) / 3, atol=1e-5
        )
        assert outputs["continuous_action_output_shape"].tolist() == [2.0]
        assert np.all(np.abs(outputs["continuous_actions"]) <= 1.0)
    if spec.action_spec.discrete_branches:
        np.testing.assert_array_equal(outputs["deterministic_discrete_actions"], expected.discrete.numpy())
        assert outputs["discrete_action_output_shape"].tolist() == [  # shape [1, branches], as ML-Agents
            [float(b) for b in spec.action_spec.discrete_branches]
        ]
        assert batch.action_mask is not None
        chosen = outputs["discrete_actions"][:, 0]
        assert not batch.action_mask[np.arange(len(chosen)), chosen].any()  # sampling respects the masks


def test_export_replaces_the_file_atomically(tmp_path: Path) -> None:
    spec = NativeVectorEnv("3DBall").behavior_specs["3DBall"]
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")
    export_onnx(Actor(spec, normalize=False, hidden_units=8, num_layers=1), spec, path)
    assert path.read_bytes() != b"previous" and list(tmp_path.iterdir()) == [path]


def test_export_leaves_the_actor_it_exports_where_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint exports the trainer's own actor: on a CUDA run, moving that actor to the CPU
    would leave it there, detached from the optimizer that steps the GPU tensors. Moving a CPU
    tensor to the CPU is a no-op, so here every `.cpu()` copies, as a move off an accelerator
    does: the actor's parameters and buffers must stay the same tensors with the same storage,
    and the actor must stay in training mode."""
    spec = NativeVectorEnv("GridWorld", 1, resolution=20).behavior_specs["GridWorld"]  # visual, discrete
    actor = Actor(spec, normalize=True, hidden_units=8, num_layers=1)
    assert actor.training and any(True for _ in actor.buffers())
    before = [*actor.parameters(), *actor.buffers()]
    pointers = [t.data_ptr() for t in before]
    cpu, moved = torch.Tensor.cpu, []

    def copying_cpu(self: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        moved.append(self)
        return cpu(self, *args, **kwargs).clone()  # type: ignore[arg-type]

    monkeypatch.setattr(torch.Tensor, "cpu", copying_cpu)
    export_onnx(actor, spec, tmp_path / "model.onnx")
    monkeypatch.undo()
    assert moved  # a copy of the actor went to the CPU
    after = [*actor.parameters(), *actor.buffers()]
    assert all(new is old for new, old in zip(after, before, strict=True)), "the export replaced the actor's tensors"
    assert [t.data_ptr() for t in after] == pointers, "the export moved the actor's tensors"
    assert actor.training
    assert ort.InferenceSession(str(tmp_path / "model.onnx")).get_outputs()[0].name == "version_number"


@pytest.mark.parametrize("name", ["3DBall", "Basic"])  # continuous and discrete sampling in the traced graph
def test_export_leaves_torch_random_stream_where_it_was(name: str, tmp_path: Path) -> None:
    """A checkpoint's export must not change what training samples next."""
    env = NativeVectorEnv(name, 1, seed=0)
    actor = Actor(env.behavior_specs[name], normalize=False, hidden_units=8, num_layers=1)
    torch.manual_seed(3)
    before = torch.get_rng_state()
    export_onnx(actor, env.behavior_specs[name], tmp_path / "policy.onnx")
    assert torch.equal(torch.get_rng_state(), before)

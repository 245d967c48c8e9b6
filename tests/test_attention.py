"""Variable-length observations (networks/attention.py, NetworkBody): absent entities masked, the
entities' order of no account, ML-Agents' initialisation, and the ONNX model reading the
observation as ML-Agents' exported graph does, against torch."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from mlagents_fast.export import export_onnx
from mlagents_fast.networks.actor_critic import Actor, NetworkBody
from mlagents_fast.networks.attention import entity_mask
from mlagents_fast.spec import ActionSpec, BehaviorSpec, ObservationSpec

ENTITIES, FEATURES = 5, 3


def spec_with_entities(vector: bool = True) -> BehaviorSpec:
    observations = [ObservationSpec.vector(4)] if vector else []
    variable = ObservationSpec((ENTITIES, FEATURES), (0, 0))
    return BehaviorSpec((*observations, variable), ActionSpec(1, (3,)))


def observations(rows: int, present: int, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    entities = torch.randn(rows, ENTITIES, FEATURES, generator=generator)
    entities[:, present:] = 0.0  # absent
    return [torch.randn(rows, 4, generator=generator), entities]


def test_absent_entities_are_the_all_zero_ones() -> None:
    entities = torch.tensor([[[0.0, 0.0], [0.05, 0.05], [0.1, 0.0], [1.0, -1.0]]])
    assert entity_mask(entities).tolist() == [[1.0, 1.0, 0.0, 0.0]]


def test_the_encoding_ignores_absent_entities_and_their_order() -> None:
    torch.manual_seed(0)
    body = NetworkBody(spec_with_entities(), False, 32, 2, "simple")
    obs = observations(6, present=3)
    with torch.no_grad():
        out = body(obs)
        shuffled = obs[1].clone()
        shuffled[:, [0, 1, 2]] = obs[1][:, [2, 0, 1]]  # the present ones in another order
        assert torch.allclose(body([obs[0], shuffled]), out, atol=1e-5)
        fewer = obs[1].clone()
        fewer[:, 2] = 0.0  # one entity fewer changes it
        assert not torch.allclose(body([obs[0], fewer]), out, atol=1e-3)
    assert out.shape == (6, 32)


def test_layers_start_as_ml_agents_initialises_them() -> None:
    torch.manual_seed(0)
    body = NetworkBody(spec_with_entities(), False, 64, 1, "simple")
    assert body.attention is not None and body.self_encoder is not None
    for layer in [body.attention.query, body.attention.key, body.attention.value, body.attention.out]:
        assert not layer.bias.any()
        assert abs(float(layer.weight.detach().std()) - math.sqrt(0.125 / 64)) < 0.005
    embedding = body.embeddings[0].encoder[0]
    assert embedding.in_features == 64 + FEATURES  # self beside each entity
    alone = NetworkBody(spec_with_entities(vector=False), False, 64, 1, "simple")
    assert alone.self_encoder is None and alone.embeddings[0].encoder[0].in_features == FEATURES


def test_onnx_reads_the_variable_length_input_as_ml_agents_exports_it(tmp_path: Path) -> None:
    torch.manual_seed(0)
    spec = spec_with_entities()
    actor = Actor(spec, False, 32, 2)
    path = tmp_path / "entities.onnx"
    export_onnx(actor, spec, path)
    session = ort.InferenceSession(str(path))
    assert [(i.name, i.shape[1:]) for i in session.get_inputs()][:2] == [
        ("obs_0", [4]),
        ("obs_1", [ENTITIES, FEATURES]),
    ]
    obs = observations(7, present=2, seed=3)
    # ML-Agents' graph transposes the input and reads it again as [entities, features].
    layout = obs[1].numpy().reshape(7, FEATURES, ENTITIES).transpose(0, 2, 1).copy()
    masks = np.ones((7, 3), np.float32)
    names = [o.name for o in session.get_outputs()]
    result = dict(zip(names, session.run(None, {"obs_0": obs[0].numpy(), "obs_1": layout, "action_masks": masks}),
                      strict=True))  # fmt: skip
    with torch.no_grad():
        h = actor.network_body(obs)
        _, deterministic = actor.action_model.exported_continuous(h)
    np.testing.assert_allclose(result["deterministic_continuous_actions"], deterministic.numpy(), atol=1e-5)

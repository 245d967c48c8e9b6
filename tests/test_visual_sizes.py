"""Observations the networks cannot take are the user's error, said when the networks are built:
a visual observation smaller than its encoder's minimum (ML-Agents' minimums: simple 20x20,
nature_cnn 36x36, resnet 15x15, match3 5x5, fully_connected none) and an observation of more
than three dimensions. mlagents-learn prints one paragraph and exits 1, before any environment
step and before any file is written. A variable-length (entities x features) observation is
taken, through attention, whatever the visual encoder."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import pytest
import torch

from mlagents_fast.envs.python.inprocess import InProcessVectorEnv
from mlagents_fast.envs.testing.simple import SimpleEnvironment
from mlagents_fast.envs.vector import StepBatch, VectorEnv
from mlagents_fast.learn import USER_ERRORS, main
from mlagents_fast.networks.actor_critic import Actor, Critic
from mlagents_fast.run.errors import UnityTrainerException
from mlagents_fast.spec import ActionSpec, ActionTuple, BehaviorSpec, DimensionProperty, ObservationSpec

MINIMUMS = {"simple": 20, "nature_cnn": 36, "resnet": 15, "match3": 5}
KEY = "network_settings.vis_encode_type"


def spec_with(shape: tuple[int, ...]) -> BehaviorSpec:
    """A vector observation, then observation 1 of `shape`; one continuous action and a branch of 2."""
    unusual = ObservationSpec(shape, (DimensionProperty.UNSPECIFIED,) * len(shape))
    return BehaviorSpec((ObservationSpec.vector(3), unusual), ActionSpec(1, (2,)))


@pytest.mark.parametrize("kind", list(MINIMUMS))
def test_a_visual_observation_below_the_encoders_minimum_is_a_user_error(kind: str) -> None:
    minimum = MINIMUMS[kind]
    for height, width in [(minimum - 1, minimum - 1), (minimum, minimum - 1), (minimum - 1, minimum)]:
        shape = (3, height, width)
        with pytest.raises(UnityTrainerException) as raised:
            Actor(spec_with(shape), normalize=False, hidden_units=8, num_layers=1, vis_encode_type=kind)
        message = str(raised.value)
        assert isinstance(raised.value, USER_ERRORS)
        assert f"bservation 1 of shape {shape}" in message
        assert f"`{KEY}: {kind}`" in message and f"{minimum}x{minimum}" in message
        assert "fully_connected" in message and "\n" not in message
        with pytest.raises(UnityTrainerException, match=f"{minimum}x{minimum}"):
            Critic(spec_with(shape), ["extrinsic"], normalize=False, hidden_units=8, num_layers=1, vis_encode_type=kind)


@pytest.mark.parametrize("kind", list(MINIMUMS))
def test_a_visual_observation_at_the_encoders_minimum_trains(kind: str) -> None:
    minimum = MINIMUMS[kind]
    spec = spec_with((3, minimum, minimum))
    actor = Actor(spec, normalize=False, hidden_units=8, num_layers=1, vis_encode_type=kind)
    critic = Critic(spec, ["extrinsic"], normalize=False, hidden_units=8, num_layers=1, vis_encode_type=kind)
    obs = [torch.rand(2, 3), torch.rand(2, 3, minimum, minimum)]
    out = actor(obs, torch.ones(2, 2))
    assert out.continuous.shape == (2, 1) and out.discrete.shape == (2, 1)
    assert critic(obs).shape == (1, 2)


def test_fully_connected_takes_any_size() -> None:
    actor = Actor(
        spec_with((3, 1, 1)), normalize=False, hidden_units=8, num_layers=1, vis_encode_type="fully_connected"
    )
    assert actor([torch.rand(2, 3), torch.rand(2, 3, 1, 1)], torch.ones(2, 2)).continuous.shape == (2, 1)


def test_the_error_names_the_behavior_and_its_key_when_known() -> None:
    with pytest.raises(UnityTrainerException) as raised:
        Actor(spec_with((3, 19, 19)), False, 8, 1, "simple", behavior="Pyramids")
    message = str(raised.value)
    assert message.startswith("Behavior 'Pyramids': observation 1 of shape (3, 19, 19)")
    assert f"`behaviors.Pyramids.{KEY}: simple`" in message
    # the encoders whose minimum a 19x19 image meets are offered; the others are not
    assert "resnet (15x15)" in message and "match3 (5x5)" in message and "nature_cnn" not in message


def test_a_variable_length_observation_is_taken_whatever_the_visual_encoder() -> None:
    for kind in [*MINIMUMS, "fully_connected"]:
        actor = Actor(spec_with((10, 5)), normalize=False, hidden_units=8, num_layers=1, vis_encode_type=kind)
        assert actor.network_body.attention is not None


def test_an_observation_of_four_dimensions_is_a_user_error() -> None:
    with pytest.raises(UnityTrainerException) as raised:
        Actor(spec_with((2, 3, 4, 5)), normalize=False, hidden_units=8, num_layers=1)
    message = str(raised.value)
    assert "Observation 1 of shape (2, 3, 4, 5) has 4 dimensions" in message and "\n" not in message


# End to end: mlagents-learn on a Python environment given as --env module:factory.

CONFIG = """
behaviors:
  Visual:
    trainer_type: ppo
    hyperparameters: {batch_size: 8, buffer_size: 16}
    network_settings: {hidden_units: 8, num_layers: 1, vis_encode_type: simple}
    max_steps: 100
"""

STEPS: list[str] = []  # every step any RecordingEnvironment takes


class RecordingEnvironment(SimpleEnvironment):
    def step(self, actions: Mapping[str, ActionTuple], out: Mapping[str, StepBatch]) -> None:
        STEPS.append("step")
        super().step(actions, out)


def small_visual() -> VectorEnv:  # observation 1 is 19x19, under simple's 20x20
    return InProcessVectorEnv(partial(RecordingEnvironment, ["Visual"], num_visual=1, vis_obs_size=(1, 19, 19)), 1)


def entities() -> VectorEnv:  # observation 1 is variable-length, (10, 5)
    return InProcessVectorEnv(partial(RecordingEnvironment, ["Visual"], num_var_len=1), 1)


def test_mlagents_learn_trains_on_a_variable_length_observation(tmp_path: Path) -> None:
    path = tmp_path / "entities.yaml"
    path.write_text(CONFIG)
    results = tmp_path / "results"
    assert main([str(path), f"--env={__name__}:entities", "--run-id=e", f"--results-dir={results}", "--seed=1"]) == 0
    assert (results / "e" / "Visual.onnx").exists()


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            "small_visual",
            rf"is a 19x19 image, smaller than the 20x20 that `(behaviors\.Visual\.)?{re.escape(KEY)}: simple` needs",
        ),
    ],
    ids=["small-visual"],
)
def test_mlagents_learn_refuses_the_observation_in_one_paragraph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], factory: str, message: str
) -> None:
    path = tmp_path / "visual.yaml"
    path.write_text(CONFIG)
    STEPS.clear()
    results = tmp_path / "results"
    code = main([str(path), f"--env={__name__}:{factory}", "--run-id=tiny", f"--results-dir={results}", "--seed=1"])
    error = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in error
    (line,) = [line for line in error.splitlines() if line.startswith("Error: ")]
    # (the behavior is named once the trainer passes it to the networks)
    assert re.match(r"Error: (Behavior 'Visual': o|O)bservation 1 \(observation 1 with shape", line), line
    assert re.search(message, line), line
    assert not STEPS, "the environment stepped before the error"
    assert not results.exists(), "files were written before the error"

"""One Unity process's connection: the gRPC server Unity's player (or the Editor) calls.

ML-Agents' protocol has the Python side serve `communicator_objects.UnityToExternalProto/Exchange`
and Unity call it, one unary call per step: each call carries Unity's output (its agents' infos)
and is answered with the trainer's next input (actions, or a reset, or quit). The gRPC thread that
receives a call hands it to the trainer's thread through a queue and waits for the answer on
another, so the trainer drives the exchange as if it were the caller.

The handshake (communication API 1.5.0): Unity's first call carries its initialization output
(name, versions, capabilities, the behaviors it has so far) and is answered with the
initialization input (seed, versions, capabilities, areas); its second call carries nothing and is
answered with the trainer's first real input (a reset).
"""

from __future__ import annotations

import logging
import queue
import socket
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc

from mlagents_fast.communicator_objects.capabilities_pb2 import UnityRLCapabilitiesProto
from mlagents_fast.communicator_objects.unity_message_pb2 import UnityMessageProto
from mlagents_fast.communicator_objects.unity_output_pb2 import UnityOutputProto
from mlagents_fast.communicator_objects.unity_rl_initialization_input_pb2 import UnityRLInitializationInputProto
from mlagents_fast.communicator_objects.unity_to_external_pb2_grpc import (
    UnityToExternalProtoServicer,
    add_UnityToExternalProtoServicer_to_server,
)

logger = logging.getLogger(__name__)

API_VERSION = "1.5.0"  # ML-Agents' communication API this side speaks
# The ML-Agents Python release that speaks API 1.5.0; Unity's package compares the version it is
# told with its supported range and warns outside it.
PACKAGE_VERSION = "1.1.0"
DEFAULT_EDITOR_PORT = 5004
BASE_ENVIRONMENT_PORT = 5005
OK, CLOSING = 200, 400  # header statuses

TIMEOUT_HELP = (
    "Make sure that: the environment does not need user interaction to launch; the Agents' Behavior "
    'Parameters > Behavior Type is set to "Default"; the environment and mlagents-fast speak compatible '
    "versions of the communication API; and, on a headless server without graphics, the player runs with "
    "--no-graphics (or is built as a server build)."
)


class UnityCommunicationError(RuntimeError):
    """The Unity side did not answer in time, closed, or speaks an incompatible version."""


def capabilities() -> UnityRLCapabilitiesProto:
    """Everything this side reads (ML-Agents' capabilities of API 1.5.0)."""
    return UnityRLCapabilitiesProto(baseRLCapabilities=True, concatenatedPngObservations=True,
                                    compressedChannelMapping=True, hybridActions=True, trainingAnalytics=False,
                                    variableLengthObservation=True, multiAgentGroups=True)  # fmt: skip


def new_answer() -> UnityMessageProto:
    """An answer to Unity's call (status OK), its `unity_input` to be written in place."""
    message = UnityMessageProto()
    message.header.status = OK
    return message


def check_versions(unity_version: str, package_version: str) -> None:
    """Refuse a Unity whose communication API has another major version (or, before 1.0, another
    minor), and warn on a minor difference, as ML-Agents does."""
    try:
        unity = [int(part) for part in unity_version.split(".")[:2]]
        ours = [int(part) for part in API_VERSION.split(".")[:2]]
    except ValueError:
        raise UnityCommunicationError(f"Unity sent the communication API version {unity_version!r}, which is not "
                                      "a version number.") from None  # fmt: skip
    if unity[0] != ours[0] or (unity[0] == 0 and unity[1:] != ours[1:]):
        raise UnityCommunicationError(
            f"The communication API version is not compatible between Unity and python. Python API: {API_VERSION}, "
            f"Unity API: {unity_version}. Use the ML-Agents Unity package that speaks API {ours[0]}.x (package "
            f"{package_version or 'unknown'} speaks {unity_version})."
        )
    if unity[1:] != ours[1:]:
        logger.warning(f"Unity package version {package_version} speaks communication API {unity_version}, this "
                       f"trainer {API_VERSION}: a minor difference; some features may not work.")  # fmt: skip


class _Servicer(UnityToExternalProtoServicer):
    """Hands each call to the trainer's thread and returns its answer."""

    def __init__(self) -> None:
        self.calls: queue.Queue[UnityMessageProto] = queue.Queue()
        self.answers: queue.Queue[UnityMessageProto] = queue.Queue()
        self.stopped = False

    def Exchange(self, request: UnityMessageProto, context: Any) -> UnityMessageProto:
        self.calls.put(request)
        while True:
            try:
                return self.answers.get(timeout=0.5)
            except queue.Empty:
                if self.stopped:  # (never left waiting by a trainer that closed)
                    closing = UnityMessageProto()
                    closing.header.status = CLOSING
                    return closing


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (a listener still makes it fail)
        try:
            probe.bind(("localhost", port))
        except OSError:
            return False
    return True


class UnityConnection:
    """The server for one Unity process on `port`. `alive` (optional) is asked while waiting: it
    raises when the player process has died, so a dead player is not waited for to the end."""

    def __init__(self, port: int, timeout_wait: float, alive: Callable[[], None] | None = None) -> None:
        self.port, self.timeout_wait, self.alive = port, timeout_wait, alive
        if not port_is_free(port):
            raise UnityCommunicationError(f"Port {port} is in use: another environment or trainer listens there. "
                                          "Choose another with --base-port (or stop the other process).")  # fmt: skip
        self._servicer = _Servicer()
        # (without SO_REUSEPORT, so two trainers never share a port unnoticed)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[("grpc.so_reuseport", 0)])
        add_UnityToExternalProtoServicer_to_server(self._servicer, self._server)  # type: ignore[no-untyped-call]
        if self._server.add_insecure_port(f"[::]:{port}") == 0:
            raise UnityCommunicationError(f"Could not listen on port {port}.")
        self._server.start()
        self._waiting = False  # a call from Unity awaits its answer
        self.closed = False

    def _receive(self, what: str) -> UnityMessageProto:
        deadline = time.monotonic() + self.timeout_wait
        while True:
            try:
                message = self._servicer.calls.get(timeout=0.1)
                self._waiting = True
                return message
            except queue.Empty:
                if self.alive is not None:
                    self.alive()
                if time.monotonic() > deadline:
                    raise UnityCommunicationError(f"The Unity environment on port {self.port} took too long to "
                                                  f"respond ({self.timeout_wait:g} s, waiting for {what}). "
                                                  f"{TIMEOUT_HELP}") from None  # fmt: skip

    def _answer(self, message: UnityMessageProto) -> None:
        self._waiting = False
        self._servicer.answers.put(message)

    def initialize(self, seed: int, num_areas: int = 1) -> UnityOutputProto:
        """The handshake; returns Unity's initialization output (its behaviors and first infos)."""
        first = self._receive("its first message")
        output = first.unity_output
        init = output.rl_initialization_output
        check_versions(init.communication_version, init.package_version)
        answer = new_answer()
        answer.unity_input.rl_initialization_input.CopyFrom(
            UnityRLInitializationInputProto(
                seed=seed,
                communication_version=API_VERSION,
                package_version=PACKAGE_VERSION,
                capabilities=capabilities(),
                num_areas=num_areas,
            )
        )
        self._answer(answer)
        self._receive("its second message")  # (empty: answered by the first exchange)
        return output

    def exchange(self, answer: UnityMessageProto) -> UnityOutputProto:
        """Answer Unity's waiting call with `answer` (`new_answer()` with its input written in place:
        no copy); return the output of Unity's next call."""
        self._answer(answer)
        message = self._receive("the outcome of a step")
        if message.header.status != OK:
            self.closed = True
            reason = message.header.message or "no message"
            raise UnityCommunicationError(f"The Unity environment on port {self.port} closed (status "
                                          f"{message.header.status}: {reason}).")  # fmt: skip
        return message.unity_output

    def send_last(self, answer: UnityMessageProto) -> None:
        """Answer Unity's waiting call with a last input (quit), expecting no further call."""
        if self._waiting:
            self._answer(answer)

    def close(self) -> None:
        """Tell a waiting Unity that training is over (status 400, as ML-Agents) and stop serving."""
        if self._waiting:
            closing = UnityMessageProto()
            closing.header.status = CLOSING
            self._answer(closing)
        self._servicer.stopped = True
        self._server.stop(grace=0.5).wait()  # (the port is free again when this returns)
        self.closed = True

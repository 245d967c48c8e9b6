"""ML-Agents' side channels: typed messages between the trainer and the game beside the steps.

Every exchange may carry a `side_channel` byte string: messages one after another, each framed
as the channel's 16-byte UUID (little-endian UUID layout, C#'s `Guid.ToByteArray`), an int32
length, and the payload. Payloads are built from little-endian bools, int32s, float32s, float32
lists (int32 count first) and ASCII strings (int32 length first). The channels here are
ML-Agents' with their UUIDs: engine configuration and environment parameters (trainer to game),
stats (game to trainer), the legacy float properties and raw bytes (both ways, for user code),
and training analytics (accepted and dropped: this trainer sends none).
"""

from __future__ import annotations

import logging
import struct
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import Any

from mlagents_fast.run.stats import StatsAggregationMethod  # (the values Unity's StatsRecorder sends)

logger = logging.getLogger(__name__)


class SideChannelError(RuntimeError):
    """A side-channel message that cannot be read (truncated, or on a channel that only sends)."""


class OutgoingMessage:
    """A payload being written, field by field."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write_bool(self, value: bool) -> None:
        self.buffer += struct.pack("<?", value)

    def write_int32(self, value: int) -> None:
        self.buffer += struct.pack("<i", value)

    def write_float32(self, value: float) -> None:
        self.buffer += struct.pack("<f", value)

    def write_float32_list(self, values: Sequence[float]) -> None:
        self.write_int32(len(values))
        self.buffer += struct.pack(f"<{len(values)}f", *values)

    def write_string(self, value: str) -> None:
        encoded = value.encode("ascii")
        self.write_int32(len(encoded))
        self.buffer += encoded

    def set_raw_bytes(self, data: bytes) -> None:
        self.buffer = bytearray(data)


class IncomingMessage:
    """A received payload, read field by field in the order it was written."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = bytes(data), 0

    def _unpack(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise SideChannelError(f"A side-channel message ended after {len(self.data)} bytes; "
                                   f"{self.offset + size} were needed to read it.")  # fmt: skip
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return values

    def read_bool(self) -> bool:
        return bool(self._unpack("<?")[0])

    def read_int32(self) -> int:
        return int(self._unpack("<i")[0])

    def read_float32(self) -> float:
        return float(self._unpack("<f")[0])

    def read_float32_list(self) -> list[float]:
        count = self.read_int32()
        return [float(v) for v in self._unpack(f"<{count}f")]

    def read_string(self) -> str:
        count = self.read_int32()
        raw = self._unpack(f"<{count}s")[0]
        assert isinstance(raw, bytes)
        return raw.decode("ascii")

    def get_raw_bytes(self) -> bytes:
        return self.data


class SideChannel:
    """One channel: what it does with the messages it receives, and the ones it queues to send."""

    def __init__(self, channel_id: uuid.UUID) -> None:
        self.channel_id = channel_id
        self.queued: list[bytes] = []

    def on_message_received(self, message: IncomingMessage) -> None:
        raise SideChannelError(f"The side channel {type(self).__name__} ({self.channel_id}) only sends; the game "
                               "sent it a message.")  # fmt: skip

    def queue_message_to_send(self, message: OutgoingMessage) -> None:
        self.queued.append(bytes(message.buffer))


class EngineConfigurationChannel(SideChannel):
    """The player's resolution, quality level, time scale and frame rates (`--width`, `--height`,
    `--quality-level`, `--time-scale`, `--target-frame-rate`, `--capture-frame-rate`)."""

    ID = uuid.UUID("e951342c-4f7e-11ea-b238-784f4387d1f7")

    class ConfigurationType(IntEnum):
        SCREEN_RESOLUTION = 0
        QUALITY_LEVEL = 1
        TIME_SCALE = 2
        TARGET_FRAME_RATE = 3
        CAPTURE_FRAME_RATE = 4

    def __init__(self) -> None:
        super().__init__(self.ID)

    def set_configuration_parameters(self, width: int | None = None, height: int | None = None,
                                     quality_level: int | None = None, time_scale: float | None = None,
                                     target_frame_rate: int | None = None,
                                     capture_frame_rate: int | None = None) -> None:  # fmt: skip
        """Queue one message per setting given (the resolution only with both sides, as ML-Agents)."""
        kind = self.ConfigurationType
        if width is not None and height is not None:
            self._send(kind.SCREEN_RESOLUTION, [width, height])
        for setting, value in ((kind.QUALITY_LEVEL, quality_level), (kind.TARGET_FRAME_RATE, target_frame_rate),
                               (kind.CAPTURE_FRAME_RATE, capture_frame_rate)):  # fmt: skip
            if value is not None:
                self._send(setting, [value])
        if time_scale is not None:
            message = OutgoingMessage()
            message.write_int32(kind.TIME_SCALE)
            message.write_float32(time_scale)
            self.queue_message_to_send(message)

    def _send(self, setting: int, values: Iterable[int]) -> None:
        message = OutgoingMessage()
        message.write_int32(setting)
        for value in values:
            message.write_int32(value)
        self.queue_message_to_send(message)


class EnvironmentParametersChannel(SideChannel):
    """Environment parameters (the config's `environment_parameters`): constants, or samplers the
    game draws from at each episode."""

    ID = uuid.UUID("534c891e-810f-11ea-a9d0-822485860400")
    FLOAT, SAMPLER = 0, 1
    UNIFORM, GAUSSIAN, MULTIRANGEUNIFORM = 0, 1, 2

    def __init__(self) -> None:
        super().__init__(self.ID)

    def set_float_parameter(self, key: str, value: float) -> None:
        message = self._start(key, self.FLOAT)
        message.write_float32(value)
        self.queue_message_to_send(message)

    def set_uniform_sampler_parameters(self, key: str, min_value: float, max_value: float, seed: int) -> None:
        self._sampler(key, seed, self.UNIFORM, [min_value, max_value])

    def set_gaussian_sampler_parameters(self, key: str, mean: float, st_dev: float, seed: int) -> None:
        self._sampler(key, seed, self.GAUSSIAN, [mean, st_dev])

    def set_multirangeuniform_sampler_parameters(self, key: str, intervals: Sequence[Sequence[float]],
                                                 seed: int) -> None:  # fmt: skip
        message = self._start(key, self.SAMPLER)
        message.write_int32(seed)
        message.write_int32(self.MULTIRANGEUNIFORM)
        message.write_float32_list([value for interval in intervals for value in interval])
        self.queue_message_to_send(message)

    def _start(self, key: str, data_type: int) -> OutgoingMessage:
        message = OutgoingMessage()
        message.write_string(key)
        message.write_int32(data_type)
        return message

    def _sampler(self, key: str, seed: int, sampler: int, values: Sequence[float]) -> None:
        message = self._start(key, self.SAMPLER)
        message.write_int32(seed)
        message.write_int32(sampler)
        for value in values:
            message.write_float32(value)
        self.queue_message_to_send(message)


class StatsSideChannel(SideChannel):
    """The game's own stats (C#'s `Academy.Instance.StatsRecorder`): key, value, aggregation."""

    ID = uuid.UUID("a1d8f7b7-cec8-50f9-b78b-d3e165a78520")

    def __init__(self) -> None:
        super().__init__(self.ID)
        self.stats: defaultdict[str, list[tuple[float, StatsAggregationMethod]]] = defaultdict(list)

    def on_message_received(self, message: IncomingMessage) -> None:
        key, value = message.read_string(), message.read_float32()
        self.stats[key].append((value, StatsAggregationMethod(message.read_int32())))

    def get_and_reset_stats(self) -> dict[str, list[tuple[float, StatsAggregationMethod]]]:
        stats, self.stats = dict(self.stats), defaultdict(list)
        return stats


class FloatPropertiesChannel(SideChannel):
    """The legacy key -> float properties, both ways."""

    ID = uuid.UUID("60ccf7d0-4f7e-11ea-b238-784f4387d1f7")

    def __init__(self, channel_id: uuid.UUID | None = None) -> None:
        super().__init__(channel_id or self.ID)
        self.properties: dict[str, float] = {}

    def on_message_received(self, message: IncomingMessage) -> None:
        key = message.read_string()
        self.properties[key] = message.read_float32()

    def set_property(self, key: str, value: float) -> None:
        self.properties[key] = value
        message = OutgoingMessage()
        message.write_string(key)
        message.write_float32(value)
        self.queue_message_to_send(message)

    def get_property(self, key: str) -> float | None:
        return self.properties.get(key)


class RawBytesChannel(SideChannel):
    """Raw bytes both ways on a channel id of the user's choosing."""

    def __init__(self, channel_id: uuid.UUID) -> None:
        super().__init__(channel_id)
        self.received: list[bytes] = []

    def on_message_received(self, message: IncomingMessage) -> None:
        self.received.append(message.get_raw_bytes())

    def send_raw_data(self, data: bytes) -> None:
        message = OutgoingMessage()
        message.set_raw_bytes(data)
        self.queue_message_to_send(message)

    def get_and_clear_received_messages(self) -> list[bytes]:
        received, self.received = self.received, []
        return received


class TrainingAnalyticsChannel(SideChannel):
    """ML-Agents' training analytics: this trainer sends none, and drops what the game sends."""

    ID = uuid.UUID("b664a4a9-d86f-5a5f-95cb-e8353a7e8356")

    def __init__(self) -> None:
        super().__init__(self.ID)

    def on_message_received(self, message: IncomingMessage) -> None:
        logger.debug("Dropped a training-analytics message from the game (%d bytes).", len(message.data))


class SideChannelManager:
    """Routes received messages to their channels by UUID, and frames the queued ones to send."""

    def __init__(self, channels: Iterable[SideChannel]) -> None:
        self.channels: dict[uuid.UUID, SideChannel] = {}
        for channel in channels:
            if channel.channel_id in self.channels:
                raise ValueError(f"Two side channels share the id {channel.channel_id}.")
            self.channels[channel.channel_id] = channel
        self._unknown_told: set[uuid.UUID] = set()

    def process_side_channel_message(self, data: bytes) -> None:
        offset = 0
        while offset < len(data):
            if offset + 20 > len(data):
                raise SideChannelError("A side-channel message from the game was cut short in its header.")
            channel_id = uuid.UUID(bytes_le=bytes(data[offset : offset + 16]))
            (length,) = struct.unpack_from("<i", data, offset + 16)
            offset += 20
            if length < 0 or offset + length > len(data):
                raise SideChannelError(f"A side-channel message from the game claims {length} bytes; "
                                       f"{len(data) - offset} remain.")  # fmt: skip
            payload = data[offset : offset + length]
            offset += length
            channel = self.channels.get(channel_id)
            if channel is not None:
                channel.on_message_received(IncomingMessage(payload))
            elif channel_id not in self._unknown_told:
                self._unknown_told.add(channel_id)
                logger.warning(f"The game sent a side-channel message on {channel_id}, which no channel here "
                               "listens to; such messages are dropped (this is said once per channel).")  # fmt: skip

    def generate_side_channel_messages(self) -> bytes:
        framed = bytearray()
        for channel in self.channels.values():
            for payload in channel.queued:
                framed += channel.channel_id.bytes_le + struct.pack("<i", len(payload)) + payload
            channel.queued.clear()
        return bytes(framed)

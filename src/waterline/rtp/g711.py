"""G.711 μ-law (PCMU) and A-law (PCMA) with numpy lookup tables.

The tables are built once, vectorised, from the segment rules of ITU-T G.711 as the ITU software
tool library (STL) implements them: negative samples are folded with a one's complement, so -1
encodes as negative zero, μ-law works on the top 14 bits and A-law on the top 13 bits of a 16-bit
sample. After that, each operation is one numpy indexing step (or ``bytes.translate``): no Python
loop per sample, and no ``audioop`` (removed in Python 3.13).

Decoding gives 16-bit linear samples (μ-law full scale ±32124, A-law ±32256).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from waterline.rtp.packet import Payload

__all__ = [
    "ALAW_DECODE",
    "ALAW_ENCODE",
    "ALAW_SILENCE",
    "ALAW_TO_ULAW",
    "PCMA",
    "PCMU",
    "ULAW_DECODE",
    "ULAW_ENCODE",
    "ULAW_SILENCE",
    "ULAW_TO_ALAW",
    "Law",
    "alaw_decode",
    "alaw_encode",
    "alaw_to_ulaw",
    "law_for_payload_type",
    "ulaw_decode",
    "ulaw_encode",
    "ulaw_to_alaw",
]

Samples = npt.NDArray[np.int16]

ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5


def _all_samples() -> npt.NDArray[np.int32]:
    # index i of an encode table is the int16 sample whose bit pattern is i (as uint16)
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _segment(magnitude: npt.NDArray[np.int32], first_boundary: int) -> npt.NDArray[np.int32]:
    """Chord number 0-7: how many of the doubling boundaries ``first_boundary * 2**k`` are reached."""
    segment = np.zeros_like(magnitude)
    for k in range(7):
        segment += magnitude >= (first_boundary << k)
    return segment


def _build_ulaw_encode() -> npt.NDArray[np.uint8]:
    x = _all_samples()
    # one's complement fold, 14-bit magnitude, then the μ-law bias of 33 and the 8191 clip
    magnitude = np.minimum(np.where(x < 0, ~x, x) >> 2, 8191 - 33) + 33
    segment = _segment(magnitude, 64)
    step = (magnitude >> (segment + 1)) & 0x0F
    code = (segment << 4) | step
    # μ-law sends every bit inverted; the sign bit is 1 for positive samples after inversion
    table: npt.NDArray[np.uint8] = np.where(x >= 0, 0xFF ^ code, 0x7F ^ code).astype(np.uint8)
    return table


def _build_alaw_encode() -> npt.NDArray[np.uint8]:
    x = _all_samples()
    magnitude = np.where(x < 0, ~x, x) >> 4  # 12-bit magnitude
    segment = _segment(magnitude, 16)
    # segment 0 and 1 share the same step size; above that the mantissa loses one bit per segment
    shift = np.maximum(segment - 1, 0)
    step = np.where(segment == 0, magnitude, (magnitude >> shift) - 16) & 0x0F
    code = (segment << 4) | step
    # even bits inverted on the wire (XOR 0x55); sign bit set for positive samples
    return (np.where(x >= 0, code | 0x80, code) ^ 0x55).astype(np.uint8)


def _build_ulaw_decode() -> Samples:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    segment = (code >> 4) & 0x07
    step = code & 0x0F
    # reconstruction at the middle of the quantisation interval, minus the bias, on the 16-bit scale
    magnitude = ((((step << 1) + 33) << segment) - 33) << 2
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _build_alaw_decode() -> Samples:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code >> 4) & 0x07
    step = code & 0x0F
    mantissa = np.where(segment > 0, step + 16, step)
    magnitude = ((mantissa << 4) + 8) << np.maximum(segment - 1, 0)
    table: Samples = np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)
    return table


ULAW_ENCODE: npt.NDArray[np.uint8] = _build_ulaw_encode()
ALAW_ENCODE: npt.NDArray[np.uint8] = _build_alaw_encode()
ULAW_DECODE: Samples = _build_ulaw_decode()
ALAW_DECODE: Samples = _build_alaw_decode()
# Transcoding by way of linear (what decode-then-encode gives, as Asterisk does), not G.711's own
# Tables 3/4: so A-law's quietest level (+8, 0xD5) becomes μ-law 0xFE rather than 0xFF.
ULAW_TO_ALAW: npt.NDArray[np.uint8] = ALAW_ENCODE[ULAW_DECODE.view(np.uint16)]
ALAW_TO_ULAW: npt.NDArray[np.uint8] = ULAW_ENCODE[ALAW_DECODE.view(np.uint16)]
for _table in (ULAW_ENCODE, ALAW_ENCODE, ULAW_DECODE, ALAW_DECODE, ULAW_TO_ALAW, ALAW_TO_ULAW):
    _table.flags.writeable = False
# bytes.translate beats numpy fancy indexing on 160-octet frames
_ULAW_TO_ALAW_BYTES = ULAW_TO_ALAW.tobytes()
_ALAW_TO_ULAW_BYTES = ALAW_TO_ULAW.tobytes()


def _codes(data: Payload) -> npt.NDArray[np.uint8]:
    return np.frombuffer(data, dtype=np.uint8)


def _as_int16(samples: Samples | npt.ArrayLike) -> Samples:
    array = np.asarray(samples)
    if array.dtype != np.int16:
        raise TypeError(f"G.711 encodes int16 samples, got {array.dtype}")
    return array


def ulaw_decode(data: Payload) -> Samples:
    """Decode μ-law octets to int16 linear samples (a new array)."""
    return ULAW_DECODE[_codes(data)]


def alaw_decode(data: Payload) -> Samples:
    """Decode A-law octets to int16 linear samples (a new array)."""
    return ALAW_DECODE[_codes(data)]


def ulaw_encode(samples: Samples) -> bytes:
    """Encode int16 linear samples to μ-law octets; other dtypes raise ``TypeError``."""
    return ULAW_ENCODE[_as_int16(samples).view(np.uint16)].tobytes()


def alaw_encode(samples: Samples) -> bytes:
    """Encode int16 linear samples to A-law octets; other dtypes raise ``TypeError``."""
    return ALAW_ENCODE[_as_int16(samples).view(np.uint16)].tobytes()


def ulaw_to_alaw(data: Payload) -> bytes:
    """Transcode μ-law octets to A-law (for bridging a PCMU leg to a PCMA leg)."""
    return bytes(data).translate(_ULAW_TO_ALAW_BYTES)


def alaw_to_ulaw(data: Payload) -> bytes:
    """Transcode A-law octets to μ-law."""
    return bytes(data).translate(_ALAW_TO_ULAW_BYTES)


@dataclass(frozen=True, slots=True)
class Law:
    """One G.711 variant as the media engine needs it: RTP/AVP static payload type and codec functions."""

    name: str
    payload_type: int
    silence: int

    def decode(self, data: Payload) -> Samples:
        """Decode octets of this law to int16 samples."""
        return ulaw_decode(data) if self.payload_type == 0 else alaw_decode(data)

    def encode(self, samples: Samples) -> bytes:
        """Encode int16 samples to octets of this law."""
        return ulaw_encode(samples) if self.payload_type == 0 else alaw_encode(samples)

    def transcode_to(self, other: Law, data: Payload) -> bytes:
        """Convert octets of this law to ``other`` (a copy even when the laws are the same)."""
        if other.payload_type == self.payload_type:
            return bytes(data)
        return ulaw_to_alaw(data) if self.payload_type == 0 else alaw_to_ulaw(data)

    def silence_frame(self, samples: int = 160) -> bytes:
        """``samples`` octets of digital silence (default one 20 ms frame at 8 kHz)."""
        return bytes((self.silence,)) * samples


PCMU = Law("PCMU", 0, ULAW_SILENCE)
PCMA = Law("PCMA", 8, ALAW_SILENCE)


def law_for_payload_type(payload_type: int) -> Law | None:
    """The G.711 law of a static RTP/AVP payload type (0 PCMU, 8 PCMA), or None for other codecs."""
    return PCMU if payload_type == 0 else PCMA if payload_type == 8 else None

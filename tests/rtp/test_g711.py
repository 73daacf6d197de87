"""G.711 tables against a per-sample reference written here from the standard, ITU values, and sox."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from waterline.rtp.g711 import (
    ALAW_DECODE,
    ALAW_ENCODE,
    ALAW_TO_ULAW,
    PCMA,
    PCMU,
    ULAW_DECODE,
    ULAW_ENCODE,
    ULAW_TO_ALAW,
    alaw_decode,
    alaw_encode,
    alaw_to_ulaw,
    law_for_payload_type,
    ulaw_decode,
    ulaw_encode,
    ulaw_to_alaw,
)

# --- reference: one sample at a time, the way G.711 describes the quantiser ------------------------------


def ref_ulaw_encode(sample: int) -> int:
    """14-bit magnitude (one's complement for negatives), bias 33, find the chord by doubling ranges."""
    magnitude = (-sample - 1 if sample < 0 else sample) // 4
    biased = min(magnitude + 33, 8191)
    chord = 0
    upper = 64  # chord 0 covers biased values 33..63, each next chord twice as wide
    while biased >= upper:
        chord += 1
        upper *= 2
    interval = 2 ** (chord + 1)
    step = (biased - upper // 2) // interval
    word = 16 * chord + step
    return (0x7F - word) | (0x80 if sample >= 0 else 0)


def ref_ulaw_decode(octet: int) -> int:
    word = 0xFF - octet
    negative = word >= 0x80
    chord, step = (word >> 4) & 7, word & 15
    interval = 2 ** (chord + 1)
    start = 2 ** (chord + 5)
    value = 4 * (start + step * interval + interval // 2 - 33)
    return -value if negative else value


def ref_alaw_encode(sample: int) -> int:
    """12-bit magnitude (one's complement for negatives); chords 0 and 1 both have 16 steps of 1."""
    magnitude = (-sample - 1 if sample < 0 else sample) // 16
    if magnitude < 16:
        chord, step = 0, magnitude
    else:
        chord, start = 1, 16
        while magnitude >= 2 * start:
            chord += 1
            start *= 2
        step = (magnitude - start) // (start // 16)
    word = 16 * chord + step
    if sample >= 0:
        word += 0x80
    return word ^ 0x55


def ref_alaw_decode(octet: int) -> int:
    word = octet ^ 0x55
    positive = word >= 0x80
    chord, step = (word >> 4) & 7, word & 15
    if chord == 0:
        value = 16 * step + 8
    else:
        width = 2 ** (chord + 3)  # step width on the 16-bit scale
        value = 2 ** (chord + 7) + step * width + width // 2
    return value if positive else -value


ALL = list(range(-32768, 32768))


def _table_index(sample: int) -> int:
    return sample & 0xFFFF


def test_ulaw_encode_table_matches_reference_for_every_sample() -> None:
    expected = [ref_ulaw_encode(s) for s in ALL]
    assert [int(ULAW_ENCODE[_table_index(s)]) for s in ALL] == expected


def test_alaw_encode_table_matches_reference_for_every_sample() -> None:
    expected = [ref_alaw_encode(s) for s in ALL]
    assert [int(ALAW_ENCODE[_table_index(s)]) for s in ALL] == expected


def test_decode_tables_match_reference_for_every_code() -> None:
    assert ULAW_DECODE.tolist() == [ref_ulaw_decode(c) for c in range(256)]
    assert ALAW_DECODE.tolist() == [ref_alaw_decode(c) for c in range(256)]


def test_known_itu_values() -> None:
    # full scale, zero, and the one's complement fold that makes -1 a negative zero
    assert ULAW_DECODE[[0x00, 0x80, 0xFF, 0x7F, 0xFE, 0x7E]].tolist() == [-32124, 32124, 0, 0, 8, -8]
    assert ALAW_DECODE[[0x2A, 0xAA, 0xD5, 0x55, 0xD4, 0x54]].tolist() == [-32256, 32256, 8, -8, 24, -24]
    assert ulaw_encode(np.array([0, -1, 32767, -32768, 8, -9], dtype=np.int16)) == bytes(
        [0xFF, 0x7F, 0x80, 0x00, 0xFE, 0x7E])
    assert alaw_encode(np.array([0, -1, 32767, -32768, 16, -17], dtype=np.int16)) == bytes(
        [0xD5, 0x55, 0xAA, 0x2A, 0xD4, 0x54])


def test_every_code_survives_decode_then_encode() -> None:
    codes = bytes(range(256))
    ulaw_again = ulaw_encode(ulaw_decode(codes))
    # μ-law negative zero (0x7F) decodes to 0, which encodes as positive zero
    assert [c for c in range(256) if ulaw_again[c] != c] == [0x7F]
    assert ulaw_again[0x7F] == 0xFF
    assert alaw_encode(alaw_decode(codes)) == codes


def test_decode_tables_are_monotonic_in_magnitude() -> None:
    positive_ulaw = ULAW_DECODE[np.arange(0xFF, 0x7F, -1)]
    codes = [(0x80 | (chord << 4) | step) ^ 0x55 for chord in range(8) for step in range(16)]
    positive_alaw = ALAW_DECODE[codes]
    assert np.all(np.diff(positive_ulaw.astype(np.int32)) > 0)
    assert np.all(np.diff(positive_alaw.astype(np.int32)) > 0)


def test_frame_functions_accept_bytes_memoryview_and_return_int16() -> None:
    frame = bytes(range(160))
    decoded = ulaw_decode(memoryview(frame))
    assert decoded.dtype == np.int16 and decoded.shape == (160,)
    assert ulaw_encode(decoded) == bytes(c if c != 0x7F else 0xFF for c in frame)
    assert alaw_encode(alaw_decode(bytearray(frame))) == frame


def test_encode_refuses_other_dtypes() -> None:
    with pytest.raises(TypeError):
        ulaw_encode(np.zeros(160, dtype=np.float32))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        alaw_encode(np.zeros(160, dtype=np.int32))  # type: ignore[arg-type]


def test_transcode_tables_go_through_linear() -> None:
    for code in range(256):
        assert ULAW_TO_ALAW[code] == ref_alaw_encode(ref_ulaw_decode(code))
        assert ALAW_TO_ULAW[code] == ref_ulaw_encode(ref_alaw_decode(code))
    frame = bytes(range(256))
    assert ulaw_to_alaw(frame) == ULAW_TO_ALAW.tobytes()
    assert alaw_to_ulaw(memoryview(frame)) == ALAW_TO_ULAW.tobytes()
    assert ulaw_to_alaw(b"\xff" * 160) == b"\xd5" * 160  # silence stays silence


def test_law_objects() -> None:
    assert law_for_payload_type(0) is PCMU
    assert law_for_payload_type(8) is PCMA
    assert law_for_payload_type(18) is None
    samples = np.array([0, 1000, -1000, 30000], dtype=np.int16)
    assert PCMA.decode(PCMA.encode(samples)).tolist() == alaw_decode(alaw_encode(samples)).tolist()
    assert PCMU.transcode_to(PCMA, b"\xff\x00") == ulaw_to_alaw(b"\xff\x00")
    assert PCMA.transcode_to(PCMU, b"\xd5") == b"\xfe"  # A-law's quietest level is +8, not zero
    assert PCMU.transcode_to(PCMU, memoryview(b"\x01")) == b"\x01"
    assert PCMA.silence_frame() == b"\xd5" * 160
    assert ulaw_decode(PCMU.silence_frame(80)).tolist() == [0] * 80


# --- cross-check with sox (an independent implementation) -----------------------------------------------


def _sox(tmp_path: Path, args_in: list[str], data: bytes, args_out: list[str]) -> bytes:
    source, target = tmp_path / "in.raw", tmp_path / "out.raw"
    source.write_bytes(data)
    subprocess.run(["sox", "-D", "-V1", "-t", "raw", "-r", "8000", "-c", "1", *args_in, str(source),
                    "-t", "raw", *args_out, str(target)], check=True, timeout=30)
    return target.read_bytes()


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_decode_matches_sox(tmp_path: Path) -> None:
    codes = bytes(range(256))
    for encoding, table in (("u-law", ULAW_DECODE), ("a-law", ALAW_DECODE)):
        linear = _sox(tmp_path, ["-e", encoding, "-b", "8"], codes, ["-e", "signed", "-b", "16"])
        assert np.frombuffer(linear, dtype="<i2").tolist() == table.tolist()


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_encode_matches_sox_where_sox_rounding_agrees(tmp_path: Path) -> None:
    # sox rounds to 14/13 bits where G.711 truncates, and (Sun's code) folds negative μ-law samples
    # with -x instead of the one's complement; on these samples both definitions coincide.
    samples = np.arange(-32768, 32768, dtype=np.int32)
    negative = (samples < -1) & (samples % 4 == 3)  # -1 rounds to sox's +0 but is G.711's -0
    ulaw_subset = samples[((samples >= 0) & (samples % 4 <= 1)) | negative]
    alaw_subset = samples[samples % 8 <= 3]
    for encoding, subset, table in (("u-law", ulaw_subset, ULAW_ENCODE), ("a-law", alaw_subset, ALAW_ENCODE)):
        pcm = subset.astype("<i2")
        encoded = _sox(tmp_path, ["-e", "signed", "-b", "16"], pcm.tobytes(), ["-e", encoding, "-b", "8"])
        assert encoded == table[pcm.astype(np.int16).view(np.uint16)].tobytes()

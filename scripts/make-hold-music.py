"""Generate the shipped music on hold (``src/waterline/prompts/queue-moh.wav``): a quiet, slow
arpeggio of soft sine tones, 16 s, looping cleanly (it starts and ends on silence).

Run: ``.venv/bin/python scripts/make-hold-music.py`` (needs sox for the A-law encoding, like the
other shipped prompts).
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 8000
NOTE_SECONDS = 0.5
# C major, A minor, F major, G major, each chord as a rising then falling arpeggio
CHORDS = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))
OUT = Path(__file__).resolve().parent.parent / "src" / "waterline" / "prompts" / "queue-moh.wav"


def note(hz: float) -> np.ndarray:
    t = np.arange(round(NOTE_SECONDS * RATE)) / RATE
    envelope = np.minimum(1.0, t / 0.03) * np.exp(-3.0 * t)
    tone = np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(2 * np.pi * 2 * hz * t)
    return tone * envelope


def main() -> None:
    notes = [note(hz) for chord in CHORDS for hz in (*chord, chord[1], chord[0] * 2, *reversed(chord))]
    samples = np.concatenate(notes)
    samples = (samples / np.abs(samples).max() * 6000).astype("<i2")
    with tempfile.TemporaryDirectory() as tmp:
        pcm = Path(tmp) / "moh.wav"
        with wave.open(str(pcm), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(samples.tobytes())
        subprocess.run(["sox", str(pcm), "-e", "a-law", "-b", "8", str(OUT)], check=True)


if __name__ == "__main__":
    main()

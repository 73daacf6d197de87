"""Offline Mandarin text-to-speech for prompts and dynamic phrases (order numbers, quantities, times).

Debian's ``espeak-ng`` reads Mandarin well only through its pinyin voice (``cmn-latn-pinyin``); its
``cmn`` voice guesses the readings of characters and gets most of them wrong. So Chinese text goes
through three steps: numbers become Chinese words (:func:`read_number` and friends, so 12 is 十二 and
an order number is read digit by digit), pypinyin turns the characters into tone-numbered pinyin with
tone sandhi applied (你好 -> ni2 hao3), and espeak-ng speaks that; sox then makes it an 8 kHz mono WAV
normalised to a common level. Results are cached by a hash of what was spoken and how, so a phrase
is synthesised once, however many calls play it.

The readers are pure functions; :class:`Synthesizer` runs the programs (blocking: call it from a
worker thread or at start-up, never on the media loop).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from pypinyin import Style, lazy_pinyin

from waterline.telephony.prompt import Prompt, PromptError, load_prompt

__all__ = [
    "Synthesizer",
    "TtsError",
    "normalise_text",
    "read_date",
    "read_digits",
    "read_number",
    "read_quantity",
    "read_time",
    "to_pinyin",
]

_DIGITS = "零一二三四五六七八九"
_GROUP_UNITS = ("", "万", "亿", "万亿")
# chinese punctuation -> what espeak-ng takes as a pause
_PUNCTUATION = str.maketrans({"，": ",", "、": ",", "；": ";", "：": ",", "。": ".", "！": ".", "？": "?",
                              "…": ".", "（": ",", "）": ",", "“": "", "”": "", "《": "", "》": "",
                              "—": ",", "·": " "})
# measure words after which 2 is said 两 (月 is not one: 2月 is 二月, February)
_MEASURE_WORDS = frozenset("桶个瓶箱张次天位件份袋本台辆小点元块分秒周")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACES = re.compile(r"\s+")
# bump when the pipeline changes so cached files are not reused for different audio
_PIPELINE_VERSION = "1"
TTS_TIMEOUT = 30.0


class TtsError(RuntimeError):
    """espeak-ng or sox is missing or failed."""


# -- readers (pure) ----------------------------------------------------------------------------------------


def _read_group(n: int) -> str:
    """1..9999 in words, inner zeros read once (一千零五), no leading zero."""
    out: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[digit] + unit)
    return "".join(out)


def read_number(n: int) -> str:
    """An integer as Chinese words: 10 -> 十, 105 -> 一百零五, 10050 -> 一万零五十 (below 10**16)."""
    if n < 0:
        return "负" + read_number(-n)
    if n == 0:
        return "零"
    groups: list[int] = []
    rest = n
    while rest:
        groups.append(rest % 10000)
        rest //= 10000
    if len(groups) > len(_GROUP_UNITS):
        raise ValueError(f"{n} is too large to read")
    out = ""
    gap = False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = bool(out)
            continue
        if out and (gap or group < 1000):
            out += "零"
        out += _read_group(group) + _GROUP_UNITS[index]
        gap = False
    # 十二, 十万: a leading 一十 is not said
    return out[1:] if out.startswith("一十") else out


def read_digits(digits: str, *, yao: bool = True) -> str:
    """Digit by digit, for order and phone numbers; 1 is 幺 (yao1), as on the phone, unless ``yao=False``."""
    table = _DIGITS.replace("一", "幺") if yao else _DIGITS
    return "".join(table[int(c)] for c in digits if c.isdigit())


def read_quantity(n: int, unit: str = "") -> str:
    """A count with its measure word: 2 桶 -> 两桶, 12 桶 -> 十二桶."""
    return ("两" if n == 2 and unit else read_number(n)) + unit


def read_time(time: dt.time) -> str:
    """A clock time as said in a call: 15:20 -> 下午三点二十分, 8:00 -> 上午八点整, 9:05 -> 上午九点零五分."""
    hour = time.hour
    if hour < 6:
        period = "凌晨"
    elif hour < 12:
        period = "上午"
    elif hour < 13:
        period = "中午"
    elif hour < 18:
        period = "下午"
    else:
        period = "晚上"
    twelve = hour % 12 or 12
    words = period + ("两" if twelve == 2 else read_number(twelve)) + "点"
    if time.minute == 0:
        return words + "整"
    minute = read_number(time.minute)
    return words + ("零" + minute if time.minute < 10 else minute) + "分"


def read_date(date: dt.date) -> str:
    """Month and day: 10-05 -> 十月五日."""
    return f"{read_number(date.month)}月{read_number(date.day)}日"


def _read_number_token(match: re.Match[str]) -> str:
    token = match.group(0)
    whole, _, fraction = token.partition(".")
    if len(whole) >= 5 or (len(whole) > 1 and whole.startswith("0")):
        spoken = read_digits(whole)  # a code or phone number, not an amount
    elif whole == "2" and not fraction and match.string[match.end():match.end() + 1] in _MEASURE_WORDS:
        spoken = "两"  # 两桶, 两点, not 二桶
    else:
        spoken = read_number(int(whole))
    if fraction:
        spoken += "点" + read_digits(fraction, yao=False)
    return spoken


def normalise_text(text: str) -> str:
    """Numbers as Chinese words (long digit runs digit by digit), punctuation as ASCII pauses."""
    return _NUMBER.sub(_read_number_token, text).translate(_PUNCTUATION)


def to_pinyin(text: str) -> str:
    """Tone-numbered pinyin (neutral tone 5, tone sandhi applied) of Chinese text, ready for espeak-ng."""
    syllables = lazy_pinyin(normalise_text(text), style=Style.TONE3, neutral_tone_with_five=True,
                            tone_sandhi=True)
    spoken = " ".join(s.strip() for s in syllables if s.strip())
    # "a , b" -> "a, b": keep pauses attached to the syllable before them
    return _SPACES.sub(" ", re.sub(r"\s+([,.;?])", r"\1", spoken)).strip()


# -- synthesis (runs programs) -------------------------------------------------------------------------------


class Synthesizer:
    """Speaks Chinese text to 8 kHz mono WAV files, cached by content under ``cache_dir``."""

    def __init__(self, cache_dir: Path, *, voice: str = "cmn-latn-pinyin", speed: int = 175, pitch: int = 50,
                 espeak: str = "espeak-ng", sox: str = "sox", encoding: str = "signed-integer",
                 timeout: float = TTS_TIMEOUT) -> None:
        """``speed`` in words per minute as espeak-ng counts them; ``encoding`` "signed-integer" (PCM16)
        or "a-law"/"u-law" (8-bit, half the size)."""
        self.cache_dir = cache_dir
        self.voice = voice
        self.speed = speed
        self.pitch = pitch
        self.espeak = espeak
        self.sox = sox
        self.encoding = encoding
        self.timeout = timeout

    def cache_key(self, text: str) -> str:
        """The file stem for ``text``: a hash of the pinyin and every setting that changes the audio."""
        recipe = "\x1f".join((_PIPELINE_VERSION, self.voice, str(self.speed), str(self.pitch), self.encoding,
                              to_pinyin(text)))
        return hashlib.sha256(recipe.encode("utf-8")).hexdigest()[:32]

    def path_for(self, text: str) -> Path:
        """Where the WAV for ``text`` is (or will be) cached."""
        return self.cache_dir / f"{self.cache_key(text)}.wav"

    def synthesize(self, text: str) -> Path:
        """The cached WAV for ``text``, synthesising it first if needed (blocking)."""
        target = self.path_for(text)
        if target.is_file():
            return target
        pinyin = to_pinyin(text)
        if not any(c.isalpha() for c in pinyin):
            raise TtsError(f"nothing to say in {text!r}")
        espeak, sox = shutil.which(self.espeak), shutil.which(self.sox)
        if espeak is None or sox is None:
            raise TtsError("espeak-ng and sox must be installed (Debian packages espeak-ng, sox)")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # unique names so two processes synthesising the same phrase do not trample each other
        stem = f"{target.stem}.{os.getpid()}"
        raw, partial = self.cache_dir / f"{stem}.raw.wav", self.cache_dir / f"{stem}.part.wav"
        bits = "16" if self.encoding == "signed-integer" else "8"
        try:
            self._run([espeak, "-v", self.voice, "-s", str(self.speed), "-p", str(self.pitch), "-w", str(raw),
                       "--stdin"], pinyin)
            # a short lead-in and tail so the first syllable is not clipped by a phone's jitter buffer
            self._run([sox, "-q", str(raw), "-r", "8000", "-c", "1", "-b", bits, "-e", self.encoding,
                       str(partial), "gain", "-n", "-3", "pad", "0.1", "0.2"], None)
            os.replace(partial, target)
        finally:
            raw.unlink(missing_ok=True)
            partial.unlink(missing_ok=True)
        return target

    def prompt(self, text: str, name: str | None = None) -> Prompt:
        """Synthesise (or take from the cache) and load as a playable prompt."""
        try:
            return load_prompt(self.synthesize(text), name or text)
        except PromptError as exc:
            raise TtsError(f"synthesised audio for {text!r} is unusable: {exc}") from exc

    def _run(self, command: list[str], stdin: str | None) -> None:
        try:
            result = subprocess.run(command, input=None if stdin is None else stdin.encode("utf-8"),
                                    capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TtsError(f"{Path(command[0]).name} took longer than {self.timeout} s") from exc
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip()
            raise TtsError(f"{Path(command[0]).name} failed: {detail}")

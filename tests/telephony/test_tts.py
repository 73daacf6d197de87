"""Chinese number readers, text to pinyin, and espeak-ng + sox synthesis with its cache."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from waterline.telephony.prompt import parse_wav
from waterline.telephony.tts import (
    Synthesizer,
    TtsError,
    normalise_text,
    read_date,
    read_digits,
    read_number,
    read_quantity,
    read_time,
    to_pinyin,
)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1005, "一千零五"),
        (1050, "一千零五十"),
        (10050, "一万零五十"),
        (12345, "一万二千三百四十五"),
        (100000, "十万"),
        (100000005, "一亿零五"),
        (300000000, "三亿"),
        (-3, "负三"),
    ],
)
def test_read_number(n: int, words: str) -> None:
    assert read_number(n) == words


def test_read_number_refuses_what_it_cannot_say() -> None:
    with pytest.raises(ValueError):
        read_number(10**16)


def test_digits_quantities_times_and_dates() -> None:
    assert read_digits("20240315017") == "二零二四零三幺五零幺七"
    assert read_digits("101", yao=False) == "一零一"
    assert read_quantity(2, "桶") == "两桶"
    assert read_quantity(12, "桶") == "十二桶"
    assert read_quantity(2) == "二"
    assert read_time(dt.time(15, 20)) == "下午三点二十分"
    assert read_time(dt.time(8, 0)) == "上午八点整"
    assert read_time(dt.time(14, 5)) == "下午两点零五分"
    assert read_time(dt.time(12, 30)) == "中午十二点三十分"
    assert read_time(dt.time(0, 10)) == "凌晨十二点十分"
    assert read_time(dt.time(20, 0)) == "晚上八点整"
    assert read_date(dt.date(2025, 10, 5)) == "十月五日"


def test_normalise_text_reads_numbers_in_context() -> None:
    assert normalise_text("订水请按1，人工服务请按0。") == "订水请按一,人工服务请按零."
    assert normalise_text("订单号20240315007") == "订单号二零二四零三幺五零零七"
    assert normalise_text("分机0571") == "分机零五七幺"
    assert normalise_text("共2桶，2月") == "共两桶,二月"
    assert normalise_text("3.5小时") == "三点五小时"


def test_to_pinyin_with_tones_sandhi_and_pauses() -> None:
    assert to_pinyin("订水请按1") == "ding4 shui3 qing3 an4 yi1"
    assert to_pinyin("你好") == "ni2 hao3"  # third-tone sandhi
    assert to_pinyin("好的，再见。") == "hao3 de5, zai4 jian4."  # neutral tone as 5
    assert to_pinyin("") == ""


def test_synthesis_makes_a_cached_8khz_mono_prompt(tmp_path: Path) -> None:
    synthesizer = Synthesizer(tmp_path / "cache")
    path = synthesizer.synthesize("订水请按1")
    audio = parse_wav(path.read_bytes())
    assert (audio.rate, audio.channels, audio.bits) == (8000, 1, 16)
    prompt = synthesizer.prompt("订水请按1", "menu1")
    assert prompt.name == "menu1"
    assert 0.8 < prompt.duration < 5.0
    assert len(set(b"".join(prompt.pcmu))) > 20  # speech, not silence
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [path.name]  # no temporary files left

    # from the cache: the programs are not needed again
    cached = Synthesizer(tmp_path / "cache", espeak="no-such-espeak-ng")
    assert cached.synthesize("订水请按1") == path
    with pytest.raises(TtsError):
        cached.synthesize("咨询请按2")


def test_cache_key_depends_on_what_is_said_and_how(tmp_path: Path) -> None:
    base = Synthesizer(tmp_path)
    assert base.cache_key("订水请按1") == base.cache_key("订水请按一")  # same speech
    assert base.cache_key("订水请按1") != base.cache_key("订水请按2")
    assert base.cache_key("订水") != Synthesizer(tmp_path, speed=120).cache_key("订水")
    assert base.cache_key("订水") != Synthesizer(tmp_path, encoding="a-law").cache_key("订水")


def test_alaw_output_and_nothing_to_say(tmp_path: Path) -> None:
    synthesizer = Synthesizer(tmp_path, encoding="a-law")
    audio = parse_wav(synthesizer.synthesize("再见").read_bytes())
    assert (audio.format_tag, audio.bits, audio.rate) == (6, 8, 8000)
    with pytest.raises(TtsError):
        synthesizer.synthesize("。，")

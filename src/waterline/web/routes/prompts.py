"""Voice prompts (prompts.manage): list, upload a recording, synthesise from text, revert to shipped.

Uploaded and synthesised prompts go to ``<data_dir>/prompts/<name>.wav`` (8 kHz mono PCM16), which
the telephony engine's ``PromptLibrary`` searches before the shipped defaults: a prompt of the same
name replaces the default. What a prompt says is kept in ``<data_dir>/prompts/manifest.json``, the
same shape as the shipped manifest, so ``PromptLibrary.texts()`` reads both.

Conversion (sox) and synthesis (espeak-ng) block for a moment: the routes are plain functions, which
FastAPI runs in its worker threads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Form, UploadFile
from pydantic import BaseModel, Field

from waterline.domain.users import Permission, User
from waterline.telephony.prompt import (
    DEFAULT_PROMPT_DIR,
    PromptError,
    PromptLibrary,
    convert_upload,
    load_prompt,
    parse_wav,
)
from waterline.telephony.tts import Synthesizer, TtsError
from waterline.web.deps import SettingsDep, require
from waterline.web.errors import ApiError

router = APIRouter(prefix="/api/prompts", tags=["prompts"])

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_TEXT = 500
_COPY_CHUNK = 1024 * 1024
MANIFEST = "manifest.json"

Manager = Annotated[User, require(Permission.PROMPTS_MANAGE)]


class PromptOut(BaseModel):
    """One prompt the engine can play; ``source`` says whether the business replaced the default."""

    name: str
    text: str
    duration: float
    source: Literal["shipped", "uploaded"]
    shipped: bool


class TtsIn(BaseModel):
    """Chinese text to speak (numbers are read out the Chinese way)."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)


def uploads_dir(data_dir: Path) -> Path:
    """Where the business's prompts live (searched before the shipped ones)."""
    return data_dir / "prompts"


def tts_cache_dir(data_dir: Path) -> Path:
    """The synthesiser's cache of phrases (by content)."""
    return data_dir / "tts"


def _library(data_dir: Path) -> PromptLibrary:
    return PromptLibrary([uploads_dir(data_dir), DEFAULT_PROMPT_DIR])


def _duration(path: Path) -> float:
    audio = parse_wav(path.read_bytes())
    octets_per_second = audio.rate * audio.channels * max(1, audio.bits // 8)
    return round(len(audio.data) / octets_per_second, 2) if octets_per_second else 0.0


def _describe(name: str, data_dir: Path, texts: dict[str, str]) -> PromptOut:
    path = _library(data_dir).path(name)
    uploaded = path.parent == uploads_dir(data_dir)
    return PromptOut(
        name=name, text=texts.get(name, ""), duration=_duration(path),
        source="uploaded" if uploaded else "shipped", shipped=(DEFAULT_PROMPT_DIR / f"{name}.wav").is_file(),
    )


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ApiError(
            422, "prompt.bad_name",
            f"提示音名称无效：{name!r}（小写字母、数字、下划线或连字符，最多 64 个字符）",
            f"Bad prompt name {name!r}: lowercase letters, digits, '_' or '-', at most 64 characters",
        )


def _set_text(data_dir: Path, name: str, text: str | None) -> None:
    """Record (or, with None, forget) what the uploaded prompt ``name`` says."""
    manifest = uploads_dir(data_dir) / MANIFEST
    content: dict[str, object] = {"prompts": {}}
    if manifest.is_file():
        try:
            content = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            content = {"prompts": {}}
    entries = content.setdefault("prompts", {})
    assert isinstance(entries, dict)
    if text is None:
        entries.pop(name, None)
    else:
        entries[name] = {"text": text}
    manifest.parent.mkdir(parents=True, exist_ok=True)
    partial = manifest.with_name(MANIFEST + ".part")
    partial.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(partial, manifest)


def _unusable(name: str, detail: str) -> ApiError:
    return ApiError(422, "prompt.unreadable", f"无法使用该音频文件作为提示音 {name}：{detail}",
                    f"The file cannot be used as prompt {name}: {detail}")


@router.get("")
def list_prompts(_user: Manager, settings: SettingsDep) -> list[PromptOut]:
    """Every prompt by name (shipped defaults and the business's own), with text and duration."""
    library = _library(settings.data_dir)
    texts = library.texts()
    found: list[PromptOut] = []
    for name in library.names():
        try:
            found.append(_describe(name, settings.data_dir, texts))
        except PromptError:
            continue  # a broken file is not a prompt: the engine would not play it either
    return found


@router.post("/{name}", status_code=201, responses={413: {"description": "文件过大 / too large"},
                                                     422: {"description": "无法读取 / unreadable audio"}})
def upload_prompt(
    name: str,
    _user: Manager,
    settings: SettingsDep,
    file: UploadFile,
    text: Annotated[str | None, Form(max_length=MAX_TEXT, description="提示音内容 / what it says")] = None,
) -> PromptOut:
    """Replace (or add) prompt ``name`` with an uploaded recording in any format sox reads.

    The audio is converted to 8 kHz mono PCM16; an unreadable or empty file answers 422, a file
    over 20 MB 413.
    """
    _check_name(name)
    directory = uploads_dir(settings.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = Path(file.filename or "").suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ""  # sox then sniffs the format from the content
    with tempfile.TemporaryDirectory(dir=directory, prefix=".upload-") as tmp:
        source = Path(tmp) / f"upload{suffix}"
        size = 0
        with open(source, "wb") as out:
            while chunk := file.file.read(_COPY_CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ApiError(413, "prompt.too_large", "文件过大（最大 20 MB）",
                                   "File too large (at most 20 MB)")
                out.write(chunk)
        if size == 0:
            raise _unusable(name, "empty file / 空文件")
        converted = Path(tmp) / "converted.wav"
        try:
            convert_upload(source, converted)
            prompt = load_prompt(converted, name)
        except PromptError as exc:
            raise _unusable(name, str(exc)) from None
        if len(prompt) == 0:
            raise _unusable(name, "no audio / 没有声音数据")
        os.replace(converted, directory / f"{name}.wav")
    _set_text(settings.data_dir, name, text.strip() if text and text.strip() else None)
    library = _library(settings.data_dir)
    return _describe(name, settings.data_dir, library.texts())


@router.post("/{name}/tts", status_code=201, responses={422: {"description": "无法合成 / cannot speak"}})
def synthesise_prompt(name: str, body: TtsIn, _user: Manager, settings: SettingsDep) -> PromptOut:
    """Replace (or add) prompt ``name`` with Mandarin speech of ``text`` (offline espeak-ng)."""
    _check_name(name)
    text = body.text.strip()
    synthesizer = Synthesizer(tts_cache_dir(settings.data_dir))
    try:
        spoken = synthesizer.synthesize(text)
        load_prompt(spoken, name)
    except (TtsError, PromptError) as exc:
        raise ApiError(422, "prompt.tts_failed", f"无法合成语音：{exc}",
                       f"Speech synthesis failed: {exc}") from None
    directory = uploads_dir(settings.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{name}.tts.part"
    shutil.copyfile(spoken, partial)
    os.replace(partial, directory / f"{name}.wav")
    _set_text(settings.data_dir, name, text)
    return _describe(name, settings.data_dir, _library(settings.data_dir).texts())


@router.delete("/{name}", status_code=204, responses={404: {"description": "未上传 / none uploaded"}})
def revert_prompt(name: str, _user: Manager, settings: SettingsDep) -> None:
    """Delete the business's version of prompt ``name`` (the shipped default, if any, plays again)."""
    _check_name(name)
    path = uploads_dir(settings.data_dir) / f"{name}.wav"
    if not path.is_file():
        raise ApiError(404, "prompt.not_uploaded", f"没有上传的提示音：{name}", f"No uploaded prompt {name}")
    path.unlink()
    _set_text(settings.data_dir, name, None)

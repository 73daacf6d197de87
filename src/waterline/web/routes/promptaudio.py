"""Listen to a prompt in the browser (prompts.manage): ``GET /api/prompts/{name}/audio``.

The answer is what a caller hears: the prompt as the engine loads it (uploads before the shipped
defaults), decoded from its G.711 frames to 8 kHz mono 16-bit PCM WAV, which every browser plays
(the shipped files are A-law WAV, which some browsers do not).
"""

from __future__ import annotations

import io
import wave
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Response

from waterline.domain.users import Permission, User
from waterline.rtp.g711 import ulaw_decode
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, Prompt, PromptError, PromptLibrary
from waterline.web.deps import SettingsDep, require
from waterline.web.errors import ApiError
from waterline.web.routes.prompts import uploads_dir

router = APIRouter(prefix="/api/prompts", tags=["prompts"])

SAMPLE_RATE = 8000


def pcm16_wav(prompt: Prompt) -> bytes:
    """``prompt`` as a 16-bit PCM mono WAV file (decoded from its μ-law frames)."""
    samples = ulaw_decode(b"".join(prompt.pcmu)) if len(prompt) else np.zeros(0, dtype=np.int16)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return out.getvalue()


@router.get(
    "/{name}/audio",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}, "description": "8 kHz 16-bit mono WAV"},
               404: {"description": "没有该提示音 / no such prompt"}},
)
def prompt_audio(
    name: str, _user: Annotated[User, require(Permission.PROMPTS_MANAGE)], settings: SettingsDep
) -> Response:
    """The prompt ``name`` as the engine would play it, as a WAV the browser's audio element plays."""
    library = PromptLibrary([uploads_dir(settings.data_dir), DEFAULT_PROMPT_DIR])
    try:
        prompt = library.get(name)
    except PromptError:
        raise ApiError(404, "prompt.not_found", f"没有该提示音：{name}", f"No prompt named {name}") from None
    # no-cache: a prompt replaced under the same name must be heard anew, not from the browser's cache
    return Response(pcm16_wav(prompt), media_type="audio/wav", headers={"Cache-Control": "no-cache"})

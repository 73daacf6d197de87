"""Call recordings (recordings.read): the index, filtered by time and call, and the WAV itself.

The audio is served by ``FileResponse``, which answers ``Range`` requests (206), so the console's
``<audio>`` element can seek in a long call without downloading it whole.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from waterline.adapters.db.recordings import Recording, RecordingRepository
from waterline.domain.users import Permission, User
from waterline.web.deps import SessionDep, SettingsDep, require
from waterline.web.errors import ApiError

router = APIRouter(prefix="/api/recordings", tags=["recordings"])

MAX_PAGE = 500
FROM_HELP = "开始时间（含）/ started at or after"
TO_HELP = "结束时间（不含）/ started before"


class RecordingOut(BaseModel):
    """One recording as the API shows it; ``audio_url`` streams the stereo WAV (caller left)."""

    id: int
    call_id: str
    started_at: datetime
    duration: float
    size: int
    channels: int
    created_at: datetime
    audio_url: str

    @classmethod
    def of(cls, recording: Recording) -> RecordingOut:
        """The API view of ``recording``."""
        return cls(
            id=recording.id, call_id=recording.call_id, started_at=recording.started_at,
            duration=recording.duration, size=recording.size, channels=recording.channels,
            created_at=recording.created_at, audio_url=f"/api/recordings/{recording.id}/audio",
        )


def _aware(value: datetime | None, zone: str) -> datetime | None:
    # a bare date or time from the console means local (display) time, not UTC
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(zone))


def _not_found(recording_id: int) -> ApiError:
    return ApiError(404, "recording.not_found", f"录音不存在：{recording_id}", f"No recording {recording_id}")


@router.get("")
def list_recordings(
    _user: Annotated[User, require(Permission.RECORDINGS_READ)],
    session: SessionDep,
    settings: SettingsDep,
    started_from: Annotated[datetime | None, Query(alias="from", description=FROM_HELP)] = None,
    started_to: Annotated[datetime | None, Query(alias="to", description=TO_HELP)] = None,
    call_id: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[RecordingOut]:
    """Recordings started in ``[from, to)`` and/or of one call, newest first.

    Times without a zone are taken in the display time zone (Asia/Shanghai by default).
    """
    zone = settings.display_timezone
    found = RecordingRepository(session).search(
        started_from=_aware(started_from, zone), started_to=_aware(started_to, zone),
        call_id=call_id or None, limit=limit, offset=offset,
    )
    return [RecordingOut.of(recording) for recording in found]


@router.get("/{recording_id}", responses={404: {"description": "未找到 / not found"}})
def get_recording(
    recording_id: int,
    _user: Annotated[User, require(Permission.RECORDINGS_READ)],
    session: SessionDep,
) -> RecordingOut:
    """One recording's index entry."""
    recording = RecordingRepository(session).get(recording_id)
    if recording is None:
        raise _not_found(recording_id)
    return RecordingOut.of(recording)


@router.get(
    "/{recording_id}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}, 206: {"description": "部分内容 / Range"},
               404: {"description": "未找到 / not found"}},
)
def recording_audio(
    recording_id: int,
    _user: Annotated[User, require(Permission.RECORDINGS_READ)],
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    """The stereo WAV (8 kHz PCM16, caller left, other side right); ``Range`` requests get 206."""
    recording = RecordingRepository(session).get(recording_id)
    session.rollback()  # the file may take long to send: do not hold a pooled connection meanwhile
    if recording is None:
        raise _not_found(recording_id)
    root = (settings.data_dir / "recordings").resolve()
    path = recording.file(settings.data_dir).resolve()
    # the index names a file under the recordings directory only; anything else is not served
    if not path.is_relative_to(root) or not path.is_file():
        raise ApiError(404, "recording.file_missing", f"录音文件不存在：{recording_id}",
                       f"The audio file of recording {recording_id} is missing")
    return FileResponse(path, media_type="audio/wav", filename=_download_name(recording, path))


def _download_name(recording: Recording, path: Path) -> str:
    return f"{recording.started_at.strftime('%Y%m%d-%H%M%S')}-{path.stem}.wav"

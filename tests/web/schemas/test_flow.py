"""Flow schemas: the version view hides the text unless asked and marks the current version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from waterline.domain.flows import FlowVersion
from waterline.web.schemas.flow import FlowVersionIn, FlowVersionOut

AT = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def test_version_view() -> None:
    version = FlowVersion(7, "default", 2, "name: default", "owner", AT)
    listed = FlowVersionOut.of(version, current=2, with_text=False)
    assert listed.current is True and listed.text is None
    shown = FlowVersionOut.of(version, current=1, with_text=True)
    assert shown.current is False and shown.text == "name: default"


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValidationError):
        FlowVersionIn(text="")

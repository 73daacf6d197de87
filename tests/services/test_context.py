from fakes import FakeClock
from waterline.services.context import Dependencies, ServiceSettings


def test_defaults_dispatch_automatically_with_sx_numbers() -> None:
    deps = Dependencies(clock=FakeClock())
    assert deps.settings == ServiceSettings()
    assert deps.settings.auto_dispatch and deps.settings.order_prefix == "SX"
    assert deps.settings.retry.max_attempts >= 3

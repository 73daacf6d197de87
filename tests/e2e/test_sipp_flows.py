"""End to end call flows (issue 5): SIPp is the carrier calling the 400 number 4006360888 with the
caller's number in From and RFC 4733 keys from pcaps; the engine runs the stored default flow over
real SIP and RTP, answers the flow's business requests from the store and writes the CDR.

The store is prepared in-process before the engine starts: the demo data (a small seeded slice:
the demo stations, products and 20 customers), the shipped default flow published and routed to the
demo DID. The engine's business clock is fixed (``WATERLINE_FLOW_NOW``) so opening hours do not depend
on when the tests run.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pytest
from harness import SCENARIOS, SippResult, SipServer, run_sipp, start_server

from waterline import bootstrap
from waterline.adapters import demo
from waterline.adapters.db.recordings import RecordingRepository
from waterline.calls.shipped import shipped_text
from waterline.config import Settings
from waterline.domain.callrecords import CallRecord
from waterline.domain.orders import Channel
from waterline.domain.stations import daily_hours
from waterline.services.callflows import seed_flows
from waterline.services.ports import CallFilter, UnitOfWork

pytestmark = pytest.mark.sipp

DID = "4006360888"
MEDIA_RANGE = (32700, 33399)
"""The engine's RTP ports here: away from the media tests' range and the default one."""
WEDNESDAY_10AM = "2026-11-25T10:00:00+08:00"
MAKEUP_SATURDAY_10AM = "2026-02-14T10:00:00+08:00"  # 调休: a Saturday worked for the Spring Festival
PLAIN_SATURDAY_10AM = "2026-02-07T10:00:00+08:00"
BAOJI_LANDLINE = "09173216549"


@dataclass(frozen=True)
class Caller:
    """A known demo customer with a usual order and the station serving her district."""

    customer_id: int
    phone: str
    district: str
    station_id: int


@dataclass
class Prepared:
    """A data dir with the store ready (copied per engine) and the caller to use."""

    data_dir: Path
    caller: Caller


def _uows(data_dir: Path) -> tuple[bootstrap.Store, Callable[[], UnitOfWork]]:
    store = bootstrap.open_store(Settings(data_dir=data_dir))
    return store, bootstrap.uow_factory(store)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, sipp_available: None) -> Prepared:
    """The store, once per module: demo slice + default flow routed to the DID."""
    if os.geteuid() != 0:
        pytest.skip("SIPp pcap play needs root")
    data_dir = tmp_path_factory.mktemp("flow-store")
    store, uows = _uows(data_dir)
    try:
        demo.load_demo_data(store.session_factory, customers=20, days=3,
                            now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
        seed_flows(uows(), {"default": shipped_text("default")}, {DID: "default"}, now=datetime.now(UTC))
        caller = None
        with uows() as uow:
            stations = uow.stations.all()
            for customer in uow.customers.search(limit=100):
                address = customer.default_address()
                serving = [s for s in stations
                           if address is not None and address.district in s.service_districts]
                if (customer.preferences.usual_product_id and customer.preferences.usual_quantity
                        and address is not None and len(serving) == 1 and customer.id is not None):
                    caller = Caller(customer.id, customer.phone_numbers[0], address.district,
                                    int(serving[0].id or 0))
                    break
        assert caller is not None, "no demo customer with a usual order in a served district"
    finally:
        store.close()
    return Prepared(data_dir, caller)


def _engine(prepared: Prepared, target: Path, now: str, *, weekdays_only: bool = False) -> SipServer:
    """A copy of the prepared store in ``target`` and an engine on it with the business clock at ``now``."""
    shutil.copytree(prepared.data_dir, target)
    if weekdays_only:
        store, uows = _uows(target)
        try:
            with uows() as uow:
                for station in uow.stations.all():
                    # Monday-Friday 08:00-20:00 only: a Saturday is after hours unless it is worked (调休)
                    station.hours = daily_hours(dtime(8, 0), dtime(20, 0), range(5))
                uow.commit()
        finally:
            store.close()
    env = {"WATERLINE_MEDIA__PORT_MIN": str(MEDIA_RANGE[0]), "WATERLINE_MEDIA__PORT_MAX": str(MEDIA_RANGE[1]),
           "WATERLINE_FLOW_NOW": now}
    return start_server(target, env=env)


@pytest.fixture(scope="module")
def flow_server(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SipServer]:
    """The engine on a Wednesday morning."""
    server = _engine(prepared, tmp_path_factory.mktemp("flow-engine") / "data", WEDNESDAY_10AM)
    try:
        yield server
    finally:
        server.stop()


def _media_port() -> int:
    from test_sipp_media import _media_port as free_even_port

    return free_even_port()


def shifted_pcap(source: Path, target: Path, shift: int) -> Path:
    """A copy of an RFC 4733 pcap whose RTP timestamps are moved on by ``shift`` (a new key press to a
    receiver that tells events apart by timestamp); UDP checksums are cleared (optional in IPv4)."""
    data = bytearray(source.read_bytes())
    pos = 24  # pcap global header
    while pos + 16 <= len(data):
        (length,) = struct.unpack_from("<I", data, pos + 8)
        frame = pos + 16
        ihl = (data[frame + 14] & 0x0F) * 4
        udp = frame + 14 + ihl
        rtp = udp + 8
        struct.pack_into("!H", data, udp + 6, 0)
        (timestamp,) = struct.unpack_from("!I", data, rtp + 4)
        struct.pack_into("!I", data, rtp + 4, (timestamp + shift) & 0xFFFFFFFF)
        pos = frame + length
    target.write_bytes(bytes(data))
    return target


def _scenario(name: str, workdir: Path, key: str) -> str:
    """Scenario ``name`` with its ``@DTMF_n@`` marks replaced by shifted copies of key ``key``'s pcap."""
    workdir.mkdir(parents=True, exist_ok=True)
    text = (SCENARIOS / name).read_text(encoding="iso-8859-1")
    for n in range(1, 4):
        mark = f"@DTMF_{n}@"
        if mark in text:
            pcap = shifted_pcap(Path(f"/usr/share/sip-tester/dtmf_2833_{key}.pcap"),
                                workdir / f"dtmf_{key}_{n}.pcap", 80_000 * n)
            text = text.replace(mark, str(pcap))
    path = workdir / name
    path.write_text(text, encoding="iso-8859-1")
    return str(path)  # absolute: run_sipp's scenarios dir does not apply


def _call(server: SipServer, workdir: Path, scenario: str, caller: str, timeout: float,
          key: str = "1") -> SippResult:
    result = run_sipp(server, workdir, "-s", DID, "-key", "caller", caller, "-mp", str(_media_port()),
                      scenario=_scenario(scenario, workdir, key), calls=1, timeout=timeout)
    assert result.returncode == 0, result.output[-3000:]
    assert result.count("SuccessfulCall(C)") == 1, result.output[-3000:]
    return result


def _cdr(server: SipServer, call_id_marker: str, wait: float = 15.0) -> CallRecord:
    """The closed CDR of the SIPp process's call (Call-IDs end in ``-<pid>@<ip>``)."""
    store, uows = _uows(server.data_dir)
    try:
        deadline = time.monotonic() + wait
        while True:
            with uows() as uow:
                records = [r for r in uow.calls.search(CallFilter(limit=100)) if call_id_marker in r.call_id]
            closed = [r for r in records if not r.is_open]
            if closed:
                return closed[0]
            assert time.monotonic() < deadline, f"no closed CDR for {call_id_marker}: {records}"
            time.sleep(0.2)
    finally:
        store.close()


def test_known_customer_reorders_with_1_then_1(
    flow_server: SipServer, prepared: Prepared, sipp_dir: Path
) -> None:
    caller = prepared.caller
    result = _call(flow_server, sipp_dir, "uac_flow_reorder.xml", caller.phone, timeout=90)
    cdr = _cdr(flow_server, f"-{result.pid}@")
    nodes = [step.node for step in cdr.path]
    assert nodes[:5] == ["welcome", "identify", "opening", "menu", "order"], nodes
    assert "reorder" in nodes and nodes[-1] == "goodbye", nodes
    assert cdr.digits == "11"
    assert cdr.outcome is not None and cdr.outcome.value == "order-placed"
    assert cdr.hangup_side is not None and cdr.hangup_side.value == "system"
    assert cdr.customer_id == caller.customer_id
    assert (cdr.flow_name, cdr.flow_version, cdr.did, cdr.caller) == ("default", 1, DID, caller.phone)
    assert cdr.order_id is not None
    store, uows = _uows(flow_server.data_dir)
    try:
        with uows() as uow:
            order = uow.orders.get(cdr.order_id)
            assert order is not None
            assert order.channel is Channel.IVR
            assert order.customer_id == caller.customer_id
            assert order.station_id == caller.station_id  # her district's station, dispatched at once
            assert order.courier_id is not None
            sms = uow.outbox.search(order_id=order.id)
        assert [m.to for m in sms] == [caller.phone]
        assert cdr.recording_id is not None
        with store.session_factory() as session:
            recording = RecordingRepository(session).get(cdr.recording_id)
        assert recording is not None
        with wave.open(str(recording.file(flow_server.data_dir))) as wav:
            assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
            seconds = wav.getnframes() / 8000
    finally:
        store.close()
    [ended] = flow_server.wait_journal("call_ended", 1, call_of=result.pid)
    # the recording runs from the answer to the hang-up, like the call
    assert seconds == pytest.approx(float(str(ended["duration"])), abs=0.3)
    assert seconds > 15  # greeting cut short, read-back, confirmation, order number, goodbye


def test_unknown_baoji_caller_is_routed_to_baoji(flow_server: SipServer, sipp_dir: Path) -> None:
    result = _call(flow_server, sipp_dir, "uac_flow_listen.xml", BAOJI_LANDLINE, timeout=30)
    cdr = _cdr(flow_server, f"-{result.pid}@")
    assert cdr.customer_id is None
    assert cdr.region_city == "宝鸡市"
    assert cdr.region_source == "area_code"
    assert cdr.outcome is not None and cdr.outcome.value == "abandoned"
    assert cdr.hangup_side is not None and cdr.hangup_side.value == "caller"
    assert [step.node for step in cdr.path][:4] == ["welcome", "identify", "opening", "menu"]


def test_three_invalid_keys_end_with_goodbye_and_hang_up(
    flow_server: SipServer, prepared: Prepared, sipp_dir: Path
) -> None:
    result = _call(flow_server, sipp_dir, "uac_flow_invalid.xml", prepared.caller.phone, timeout=60, key="9")
    cdr = _cdr(flow_server, f"-{result.pid}@")
    assert cdr.digits == "999"
    nodes = [step.node for step in cdr.path]
    assert nodes[-1] == "goodbye" and "order" not in nodes, nodes
    assert cdr.hangup_side is not None and cdr.hangup_side.value == "system"
    assert cdr.outcome is not None and cdr.outcome.value == "ivr-completed"


@pytest.mark.parametrize(
    ("now", "expected"), [(MAKEUP_SATURDAY_10AM, "menu"), (PLAIN_SATURDAY_10AM, "after_hours")]
)
def test_a_makeup_saturday_is_a_workday(
    prepared: Prepared, tmp_path: Path, sipp_dir: Path, now: str, expected: str
) -> None:
    server = _engine(prepared, tmp_path / "data", now, weekdays_only=True)
    try:
        result = _call(server, sipp_dir, "uac_flow_listen.xml", prepared.caller.phone, timeout=30)
        cdr = _cdr(server, f"-{result.pid}@")
    finally:
        server.stop()
    nodes = [step.node for step in cdr.path]
    assert nodes[:3] == ["welcome", "identify", "opening"], nodes
    assert nodes[3] == expected, nodes


def test_calls_open_at_a_crash_are_closed_as_failed(
    prepared: Prepared, tmp_path: Path, sipp_dir: Path
) -> None:
    server = _engine(prepared, tmp_path / "data", WEDNESDAY_10AM)
    results: list[SippResult] = []
    caller = threading.Thread(target=lambda: results.append(run_sipp(
        server, sipp_dir, "-s", DID, "-key", "caller", prepared.caller.phone, "-mp", str(_media_port()),
        scenario="uac_flow_listen.xml", calls=1, timeout=10)))
    caller.start()
    try:
        server.wait_journal("call_answered", 1, timeout=10)
        time.sleep(1.0)  # the open CDR is written in a worker thread right after the answer
        server.stop(signum=signal.SIGKILL)  # a crash in the middle of the call
    finally:
        caller.join(40)
        server.stop()
    [result] = results
    store, uows = _uows(tmp_path / "data")
    try:
        with uows() as uow:
            [record] = [r for r in uow.calls.search(CallFilter()) if f"-{result.pid}@" in r.call_id]
            assert record.is_open
    finally:
        store.close()
    restarted = start_server(tmp_path / "data", env={"WATERLINE_FLOW_NOW": WEDNESDAY_10AM,
                                                      "WATERLINE_MEDIA__PORT_MIN": str(MEDIA_RANGE[0]),
                                                      "WATERLINE_MEDIA__PORT_MAX": str(MEDIA_RANGE[1])})
    try:
        cdr = _cdr(restarted, f"-{result.pid}@")
    finally:
        restarted.stop()
    assert cdr.outcome is not None and cdr.outcome.value == "failed"
    assert cdr.hangup_cause == "engine-restart"
    assert cdr.ended_at is not None and cdr.ended_at - cdr.started_at < timedelta(minutes=10)


def test_after_hours_message_becomes_a_call_back_task(
    prepared: Prepared, tmp_path: Path, sipp_dir: Path
) -> None:
    server = _engine(prepared, tmp_path / "data", PLAIN_SATURDAY_10AM, weekdays_only=True)
    try:
        result = _call(server, sipp_dir, "uac_flow_message.xml", prepared.caller.phone, timeout=70)
        cdr = _cdr(server, f"-{result.pid}@")
    finally:
        server.stop()
    nodes = [step.node for step in cdr.path]
    assert nodes == ["welcome", "identify", "opening", "after_hours", "goodbye"], nodes
    assert cdr.outcome is not None and cdr.outcome.value == "voicemail"
    store, uows = _uows(tmp_path / "data")
    try:
        with uows() as uow:
            [task] = [t for t in uow.tasks.search() if t.call_id == cdr.call_id]
        assert task.kind.value == "missed_call" and task.caller == prepared.caller.phone
        assert task.customer_id == prepared.caller.customer_id
        assert task.recording_id is not None and task.recording_id != cdr.recording_id
        with store.session_factory() as session:
            message = RecordingRepository(session).get(task.recording_id)
        assert message is not None
        with wave.open(str(message.file(tmp_path / "data"))) as wav:
            seconds = wav.getnframes() / 8000
            samples = wav.readframes(wav.getnframes())
    finally:
        store.close()
    # from the beep (~24.5 s) through ~7 s of speech (from 25 s) to 5 s of silence
    assert 10.5 <= seconds <= 14.5, seconds
    left = __import__("numpy").frombuffer(samples, dtype="<i2")[0::2]
    assert int(abs(left.astype("int32")).max()) > 5000  # the caller's speech is in the message


def test_a_complaint_is_ticketed_and_linked_to_the_call(
    flow_server: SipServer, prepared: Prepared, sipp_dir: Path
) -> None:
    result = _call(flow_server, sipp_dir, "uac_flow_complaint.xml", prepared.caller.phone, timeout=60)
    cdr = _cdr(flow_server, f"-{result.pid}@")
    nodes = [step.node for step in cdr.path]
    assert nodes[3:8] == ["menu", "complaint_menu", "reason_late", "complaint", "complaint_done"], nodes
    assert cdr.digits == "31"
    store, uows = _uows(flow_server.data_dir)
    try:
        with uows() as uow:
            [ticket] = [c for c in uow.complaints.search() if c.call_id == cdr.call_id]
    finally:
        store.close()
    assert (ticket.reason, ticket.customer_id, ticket.caller) == (
        "送水不及时", prepared.caller.customer_id, prepared.caller.phone)

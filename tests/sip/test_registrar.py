"""Registrar binding table (RFC 3261 §10.3) with a fake store and a float clock."""

from __future__ import annotations

from waterline.sip.message import Request, Response, parse_message
from waterline.sip.registrar import Binding, Registrar

AOR = "sip:8001@pbx.example.cn"


class FakeRegistrationStore:
    """Keeps what the registrar saved, like the database adapter would."""

    def __init__(self, initial: dict[str, list[Binding]] | None = None) -> None:
        self.rows: dict[str, list[Binding]] = dict(initial or {})
        self.saves = 0

    def load_all(self) -> dict[str, list[Binding]]:
        return {aor: list(b) for aor, b in self.rows.items()}

    def save(self, aor: str, bindings: list[Binding]) -> None:
        self.saves += 1
        if bindings:
            self.rows[aor] = list(bindings)
        else:
            self.rows.pop(aor, None)


def register(cseq: int, *contacts: str, expires: str | None = None, call_id: str = "reg-1") -> Request:
    lines = [
        "REGISTER sip:pbx.example.cn SIP/2.0",
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKr" + str(cseq),
        "From: <sip:8001@pbx.example.cn>;tag=f1",
        "To: <sip:8001@PBX.example.cn>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
    ]
    lines += [f"Contact: {c}" for c in contacts]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def contacts_of(response: Response) -> list[str]:
    return response.headers.get_all("Contact")


def test_register_binds_several_contacts_and_reports_them() -> None:
    store = FakeRegistrationStore()
    registrar = Registrar(store)
    response = registrar.register(
        register(1, "<sip:8001@192.168.1.20:5060>;q=0.5", "<sip:8001@10.8.0.5>;expires=120", expires="600"),
        now=1000.0,
        to_tag="t",
    )
    assert response.status == 200
    assert response.to.tag == "t"
    assert contacts_of(response) == [
        "<sip:8001@192.168.1.20:5060>;expires=600",
        "<sip:8001@10.8.0.5>;expires=120",
    ]
    best_first = [b.contact for b in registrar.lookup(AOR, 1000.0)]
    assert best_first == ["sip:8001@10.8.0.5", "sip:8001@192.168.1.20:5060"]
    assert [b.contact for b in store.rows[AOR]] == ["sip:8001@192.168.1.20:5060", "sip:8001@10.8.0.5"]


def test_bindings_expire_by_now() -> None:
    store = FakeRegistrationStore()
    registrar = Registrar(store)
    registrar.register(register(1, "<sip:8001@10.8.0.5>;expires=120", "<sip:8001@10.8.0.6>"), now=0.0)
    assert registrar.next_expiry() == 120.0
    assert len(registrar.lookup(AOR, 119.0)) == 2
    assert [b.contact for b in registrar.lookup(AOR, 121.0)] == ["sip:8001@10.8.0.6"]
    assert registrar.expire(121.0) == [AOR]
    assert [b.contact for b in store.rows[AOR]] == ["sip:8001@10.8.0.6"]
    assert registrar.expire(5000.0) == [AOR]
    assert AOR not in store.rows
    assert registrar.expire(5001.0) == []


def test_refresh_updates_expiry_and_unregister_removes() -> None:
    registrar = Registrar(FakeRegistrationStore())
    registrar.register(register(1, "<sip:8001@10.8.0.5>", expires="300"), now=0.0)
    registrar.register(register(2, "<sip:8001@10.8.0.5>", expires="300"), now=200.0)
    assert registrar.lookup(AOR, 400.0)[0].expires_at == 500.0
    response = registrar.register(register(3, "<sip:8001@10.8.0.5>", expires="0"), now=210.0)
    assert response.status == 200
    assert contacts_of(response) == []
    assert registrar.lookup(AOR, 210.0) == []


def test_wildcard_removes_everything_only_with_expires_zero() -> None:
    store = FakeRegistrationStore()
    registrar = Registrar(store)
    registrar.register(register(1, "<sip:8001@10.8.0.5>", "<sip:8001@10.8.0.6>"), now=0.0)
    refused = registrar.register(register(2, "*", expires="60"), now=1.0)
    assert refused.status == 400
    assert len(registrar.lookup(AOR, 1.0)) == 2
    assert registrar.register(register(3, "*"), now=1.0).status == 400
    ok = registrar.register(register(4, "*", expires="0"), now=1.0)
    assert ok.status == 200
    assert registrar.lookup(AOR, 1.0) == []
    assert AOR not in store.rows


def test_too_brief_expiry_gets_423_with_min_expires() -> None:
    registrar = Registrar(FakeRegistrationStore(), min_expires=60)
    response = registrar.register(register(1, "<sip:8001@10.8.0.5>;expires=30"), now=0.0)
    assert (response.status, response.reason) == (423, "Interval Too Brief")
    assert response.headers.get("Min-Expires") == "60"
    assert registrar.lookup(AOR, 0.0) == []


def test_long_expiry_is_clamped_and_default_applies() -> None:
    registrar = Registrar(FakeRegistrationStore(), max_expires=1800, default_expires=900)
    request = register(1, "<sip:8001@10.8.0.5>;expires=99999", "<sip:8001@10.8.0.6>")
    response = registrar.register(request, 0.0)
    assert contacts_of(response) == ["<sip:8001@10.8.0.5>;expires=1800", "<sip:8001@10.8.0.6>;expires=900"]


def test_query_without_contact_lists_bindings_without_saving() -> None:
    store = FakeRegistrationStore()
    registrar = Registrar(store)
    registrar.register(register(1, "<sip:8001@10.8.0.5>", expires="600"), now=0.0)
    saves = store.saves
    response = registrar.register(register(2), now=100.0)
    assert contacts_of(response) == ["<sip:8001@10.8.0.5>;expires=500"]
    assert store.saves == saves


def test_out_of_order_register_is_refused() -> None:
    registrar = Registrar(FakeRegistrationStore())
    registrar.register(register(5, "<sip:8001@10.8.0.5>", expires="600"), now=0.0)
    stale = registrar.register(register(4, "<sip:8001@10.8.0.5>", expires="0"), now=1.0)
    assert stale.status == 500
    assert len(registrar.lookup(AOR, 1.0)) == 1
    other_call = registrar.register(register(1, "<sip:8001@10.8.0.5>", expires="0", call_id="reg-2"), now=1.0)
    assert other_call.status == 200
    assert registrar.lookup(AOR, 1.0) == []


def test_bad_q_is_400() -> None:
    registrar = Registrar(FakeRegistrationStore())
    assert registrar.register(register(1, "<sip:8001@10.8.0.5>;q=7"), now=0.0).status == 400


def test_restart_keeps_bindings_from_the_store() -> None:
    store = FakeRegistrationStore()
    Registrar(store).register(register(1, "<sip:8001@10.8.0.5>", expires="600"), now=0.0)
    restarted = Registrar(store)
    assert [b.contact for b in restarted.lookup(AOR, 10.0)] == ["sip:8001@10.8.0.5"]
    assert restarted.lookup(AOR, 10.0)[0].remaining(10.0) == 590


def test_lookup_by_user_finds_an_agent_whatever_host_it_registered_against() -> None:
    registrar = Registrar(FakeRegistrationStore())
    registrar.register(register(1, "<sip:8001@10.8.0.5>;q=0.4", "<sip:8001@10.8.0.6>;expires=60"), now=0.0)
    best_first = [b.contact for b in registrar.lookup_user("8001", 10.0)]
    assert best_first == ["sip:8001@10.8.0.6", "sip:8001@10.8.0.5"]
    assert [b.contact for b in registrar.lookup_user("8001", 61.0)] == ["sip:8001@10.8.0.5"]
    assert registrar.lookup_user("800", 10.0) == [] and registrar.lookup_user("8001@", 10.0) == []

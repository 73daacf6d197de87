"""The administration pages in a real browser: CRUD through the forms, the flow editor's inline errors
and publishing, routing a 400 number, a prompt synthesised from Chinese text that plays back."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def _submit(page: Any, form: str) -> None:
    page.click(f"{form} button[type=submit]")


def _shot(console: Any, page: Any, name: str) -> None:
    # from the top: a full-page picture of a scrolled page draws the sticky header mid-page
    page.evaluate("window.scrollTo(0, 0)")
    console.screenshot(page, name)


def _row(page: Any, table: str, text: str) -> Any:
    row = page.locator(f"{table} tbody tr", has_text=text)
    row.wait_for(state="visible")
    return row


def test_owner_creates_a_station_a_product_and_a_courier_and_sees_them_listed(console: Any) -> None:
    page = console.page_as("owner")

    page.goto("/console/admin/stations")
    page.click("#station-new")
    page.fill("#station-form [name=name]", "浐灞测试站")
    page.select_option("#station-form [name=city]", "西安市")
    page.select_option("#station-form [name=district]", "灞桥区")
    page.fill("#station-form [name=phone]", "029-83336666")
    page.check('#station-form input[name="service_districts[]"][value="灞桥区"]')
    page.check('#station-form input[name="service_districts[]"][value="临潼区"]')
    page.fill('#station-hours input[data-day="5"][data-part="opens"]', "09:00")  # Saturday opens later
    page.check('#station-hours input[data-day="6"][data-part="closed"]')  # closed on Sunday
    _shot(console, page, "admin-station-form")
    _submit(page, "#station-form")
    station = _row(page, "#station-table", "浐灞测试站")
    assert "灞桥区、临潼区" in station.inner_text()
    assert "周六 09:00–20:00" in station.inner_text() and "周日 休息" in station.inner_text()
    _shot(console, page, "admin-stations")

    page.goto("/console/admin/products")
    page.click("#product-new")
    page.fill("#product-form [name=sku]", "TEST-CHANBA-18L")
    page.fill("#product-form [name=name]", "浐灞山泉 18.9L")
    page.fill("#product-form [name=brand]", "浐灞")
    page.fill("#product-form [name=price]", "16.50")
    _submit(page, "#product-form")
    product = _row(page, "#product-table", "TEST-CHANBA-18L")
    assert "¥16.50" in product.inner_text() and "桶装水" in product.inner_text()
    # a price change through the edit form
    product.locator("button", has_text="编辑").click()
    page.fill("#product-form [name=price]", "17")
    _submit(page, "#product-form")
    page.locator("#product-table tbody tr", has_text="¥17.00").wait_for()
    _shot(console, page, "admin-products")

    page.goto("/console/admin/couriers")
    page.click("#courier-new")
    page.select_option("#courier-form [name=station_id]", label="浐灞测试站")
    page.fill("#courier-form [name=name]", "测试送水员小刘")
    page.fill("#courier-form [name=mobile]", "13700001234")
    _submit(page, "#courier-form")
    courier = _row(page, "#courier-table", "测试送水员小刘")
    assert "浐灞测试站" in courier.inner_text() and "在岗" in courier.inner_text()
    courier.locator("button", has_text="下班").click()
    row = page.locator("#courier-table tbody tr", has_text="测试送水员小刘")
    row.locator(".wl-tag", has_text="下班").wait_for()
    _shot(console, page, "admin-couriers")

    # what the pages did is what the API holds
    stations = page.request.get("/api/stations").json()
    created = next(s for s in stations if s["name"] == "浐灞测试站")
    assert created["service_districts"] == ["灞桥区", "临潼区"] and created["phone"] == "02983336666"
    assert {h["weekday"] for h in created["hours"]} == {0, 1, 2, 3, 4, 5, 7}
    assert page.errors == []


def test_a_flow_with_an_error_is_shown_inline_and_not_saved_a_valid_one_is_published(console: Any) -> None:
    page = console.page_as("owner")
    page.goto("/console/admin/flows")
    page.locator("#flow-ok").wait_for()  # the default flow, checked
    page.locator("#flow-svg [data-node=welcome]").wait_for()
    _shot(console, page, "admin-flows")

    page.fill("#new-flow-name", "console-test")
    page.click("#new-flow")
    page.locator("#flow-svg [data-node=bye]").wait_for()
    text = page.input_value("#flow-text")
    page.fill("#flow-text", text.replace("next: bye", "next: nowhere"))
    error = page.locator("#flow-error")
    error.wait_for()
    assert page.locator("#flow-error-where").inner_text() == "第 8 行 · 节点 welcome · 字段 next"
    assert "nowhere" in error.inner_text()
    assert page.locator(".flow-gutter span.bad").inner_text().strip() == "8"
    page.click("#flow-publish")
    page.locator(".wl-toast", has_text="流程有错误，未保存也未发布").wait_for()
    _shot(console, page, "admin-flow-error")
    assert page.request.get("/api/flows/console-test").status == 404  # nothing saved or published

    page.fill("#flow-text", text.replace("您好，欢迎致电送水热线。", "您好，这是测试流程。"))
    page.locator("#flow-ok").wait_for()
    page.click("#flow-publish")
    page.locator("#flow-info .wl-tag", has_text="当前发布：第 1 版").wait_for()
    flow = page.request.get("/api/flows/console-test").json()
    assert flow["current_version"] == 1
    version = page.request.get("/api/flows/console-test/versions/1").json()
    assert "您好，这是测试流程。" in version["text"]
    assert page.locator("#flow-svg .flow-node").count() == 2

    # a draft does not change what callers hear until it is published
    page.fill("#flow-text", page.input_value("#flow-text").replace("这是测试流程", "这是第二版"))
    page.locator("#flow-ok").wait_for()
    page.click("#flow-save")
    page.locator(".wl-toast", has_text="已保存为第 2 版").wait_for()
    assert page.request.get("/api/flows/console-test").json()["current_version"] == 1

    page.goto("/console/admin/numbers")
    page.fill("#number-form [name=did]", "400-000-0999")
    page.select_option("#number-form [name=flow]", "console-test")
    _submit(page, "#number-form")
    routed = _row(page, "#number-table", "400-000-0999")
    assert routed.locator("select").input_value() == "console-test"
    _shot(console, page, "admin-numbers")
    routes = page.request.get("/api/dids").json()
    assert any(r["did"] == "4000000999" and r["flow"] == "console-test" for r in routes)
    assert page.errors == []


def test_the_manager_reads_flows_but_cannot_change_them(console: Any) -> None:
    page = console.page_as("manager")
    page.goto("/console/admin/flows")
    page.locator("#flow-ok").wait_for()
    assert page.locator("#flow-text").get_attribute("readonly") is not None
    assert not page.locator("#flow-publish").is_visible() and not page.locator("#new-flow").is_visible()
    assert page.locator("#flow-check").is_visible()
    _shot(console, page, "admin-flows-manager")
    assert page.errors == []


def test_a_prompt_generated_from_chinese_text_plays_back(console: Any, tmp_path: Path) -> None:
    page = console.page_as("owner")
    page.goto("/console/admin/prompts")
    _row(page, "#prompt-table", "greeting")
    page.fill("#tts-form [name=name]", "console_test")
    page.fill("#tts-form [name=text]", "您好，国庆期间正常送水，欢迎订购。")
    _submit(page, "#tts-form")
    row = _row(page, "#prompt-table", "console_test")
    assert "自定义" in row.inner_text() and "国庆期间正常送水" in row.inner_text()
    # the page starts playing it; the browser decodes the WAV and its clock moves
    page.wait_for_function(
        "() => { const a = document.getElementById('audio-console_test');"
        " return a && a.readyState >= 1 && a.duration > 1; }"
    )
    page.evaluate("async () => { const a = document.getElementById('audio-console_test');"
                  " a.currentTime = 0; await a.play(); }")
    page.wait_for_function("() => document.getElementById('audio-console_test').currentTime > 0.3")
    _shot(console, page, "admin-prompts")
    audio = page.request.get("/api/prompts/console_test/audio")
    assert audio.status == 200 and audio.headers["content-type"] == "audio/wav"

    # an MP3 recording (44.1 kHz stereo) uploaded through the form becomes an 8 kHz prompt
    mp3 = tmp_path / "notice.mp3"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(mp3), "synth", "2", "sine", "440"], check=True)
    page.fill("#upload-form [name=name]", "console_upload")
    page.set_input_files("#upload-form [name=file]", str(mp3))
    page.fill("#upload-form [name=text]", "上传的测试录音")
    _submit(page, "#upload-form")
    uploaded = _row(page, "#prompt-table", "console_upload")
    assert "0:02" in uploaded.inner_text() and "上传的测试录音" in uploaded.inner_text()
    assert page.errors == []


def test_holiday_overrides_and_users(console: Any) -> None:
    page = console.page_as("owner")
    page.goto("/console/admin/holidays")
    page.click("#holiday-add")
    row = page.locator("tr.holiday-row").last
    row.locator("input[type=date]").fill("2027-10-09")
    row.locator("select").select_option("work")
    row.locator("input[type=text]").fill("国庆调休上班")
    page.click("#holiday-save")
    page.locator(".wl-toast", has_text="已保存").wait_for()
    page.reload()
    page.locator("tr.holiday-row input[value='国庆调休上班']").wait_for()
    _shot(console, page, "admin-holidays")
    saved = page.request.get("/api/holidays/overrides").json()
    assert {"day": "2027-10-09", "is_workday": True, "note": "国庆调休上班"}.items() <= next(
        o for o in saved if o["day"] == "2027-10-09").items()

    page.goto("/console/admin/users")
    page.click("#user-new")
    page.fill("#user-form [name=username]", "kefu-test")
    page.fill("#user-form [name=display_name]", "测试客服")
    page.select_option("#user-form [name=role]", "agent")
    page.fill("#user-form [name=password]", "secret-123")
    _submit(page, "#user-form")
    user = _row(page, "#user-table", "kefu-test")
    assert "客服" in user.inner_text() and "启用" in user.inner_text()
    user.locator("button", has_text="编辑").click()
    page.select_option("#user-edit-form [name=role]", "dispatcher")
    _submit(page, "#user-edit-form")
    page.locator("#user-table tbody tr", has_text="kefu-test").locator(".wl-tag", has_text="调度").wait_for()
    user = _row(page, "#user-table", "kefu-test")
    user.locator("button", has_text="停用").click()
    page.locator("#user-table tbody tr", has_text="kefu-test").locator(".wl-tag", has_text="停用").wait_for()
    _shot(console, page, "admin-users")
    page.goto("/console/admin/queues")
    _row(page, "#queue-table", "雁塔小寨站")
    _shot(console, page, "admin-queues")
    assert page.errors == []

"""Rendered pages: security headers, and what the page's script gets embedded safely."""

from __future__ import annotations

import json
import re

from waterline.web.console.render import CONTENT_SECURITY_POLICY

CLIENT = re.compile(r'<script id="wl-client" type="application/json">(.*?)</script>', re.S)


def test_pages_carry_the_security_headers(web) -> None:  # type: ignore[no-untyped-def]
    response = web.client.get("/login")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    scripts = CONTENT_SECURITY_POLICY.split("style-src")[0]
    assert "script-src 'self'" in scripts and "unsafe-inline" not in scripts
    assert response.headers["cache-control"] == "no-store"
    # no inline script may run: every <script> is either external or inert JSON
    for tag in re.findall(r"<script[^>]*>", response.text):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_the_client_data_cannot_close_its_script_tag(web) -> None:  # type: ignore[no-untyped-def]
    response = web.client.get("/login", params={"next": "/x</script><script>alert(1)</script>"})
    embedded = CLIENT.search(response.text)
    assert embedded is not None
    data = json.loads(embedded.group(1))
    assert data["next"] == "/x</script><script>alert(1)</script>"
    assert data["lang"] == "zh-CN" and data["messages"]["shell.login.title"] == "登录"
    assert "<script>alert(1)" not in response.text


def test_static_files_and_npm_packages_are_served_locally(web) -> None:  # type: ignore[no-untyped-def]
    css = web.client.get("/console/static/console.css")
    assert css.status_code == 200 and "Noto Sans CJK SC" in css.text
    assert css.headers["cache-control"] == "no-cache"
    script = web.client.get("/console/static/console.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    echarts = web.client.get("/console/vendor/echarts/dist/echarts.min.js")
    assert echarts.status_code == 200 and len(echarts.content) > 100_000

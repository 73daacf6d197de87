from __future__ import annotations

from ..conftest import PASSWORD, WebEnv


def test_token_endpoint_contract(web: WebEnv) -> None:
    response = web.client.post("/api/auth/token", data={"username": "agent", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type"}
    assert body["token_type"] == "bearer" and body["access_token"]


def test_wrong_password_is_401_bilingual(web: WebEnv) -> None:
    response = web.client.post("/api/auth/token", data={"username": "agent", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "auth.bad_credentials",
        "message_zh": "用户名或密码错误",
        "message_en": "Wrong username or password",
    }


def test_unknown_user_is_401(web: WebEnv) -> None:
    response = web.client.post("/api/auth/token", data={"username": "ghost", "password": PASSWORD})
    assert response.status_code == 401


def test_missing_form_field_is_422_bilingual(web: WebEnv) -> None:
    response = web.client.post("/api/auth/token", data={"username": "agent"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation"
    assert "password" in body["message_en"] and "请求数据无效" in body["message_zh"]


def test_me_reports_role_and_permissions(web: WebEnv) -> None:
    body = web.client.get("/api/auth/me", headers=web.auth("courier")).json()
    assert body["username"] == "courier" and body["role"] == "courier"
    assert "deliveries.own" in body["permissions"]
    assert "customers.read" not in body["permissions"]


def test_console_login_sets_cookie_and_logout_clears_it(web: WebEnv) -> None:
    response = web.client.post("/api/auth/login", json={"username": "dispatcher", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["role"] == "dispatcher"
    cookie = response.headers["set-cookie"]
    assert web.settings.auth.cookie_name in cookie
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    # the client keeps the cookie: no Authorization header needed now
    assert web.client.get("/api/auth/me").json()["username"] == "dispatcher"
    assert web.client.post("/api/auth/logout").status_code == 204
    assert web.client.get("/api/auth/me").status_code == 401


def test_console_login_wrong_password(web: WebEnv) -> None:
    response = web.client.post("/api/auth/login", json={"username": "owner", "password": "wrong-password"})
    assert response.status_code == 401
    assert "set-cookie" not in response.headers

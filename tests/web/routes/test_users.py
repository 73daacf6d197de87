from __future__ import annotations

from ..conftest import PASSWORD, WebEnv


def test_owner_creates_user_who_can_log_in(web: WebEnv) -> None:
    response = web.client.post(
        "/api/users",
        json={"username": "wang.fang", "password": "new-password", "role": "agent", "display_name": "王芳"},
        headers=web.auth("owner"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == "wang.fang" and body["role"] == "agent" and body["active"] is True
    assert "password" not in body and "password_hash" not in body
    assert web.token("wang.fang", "new-password")


def test_manager_may_not_create_users(web: WebEnv) -> None:
    response = web.client.post(
        "/api/users",
        json={"username": "x1", "password": "new-password", "role": "owner"},
        headers=web.auth("manager"),
    )
    assert response.status_code == 403


def test_duplicate_username_is_409(web: WebEnv) -> None:
    response = web.client.post(
        "/api/users",
        json={"username": "agent", "password": PASSWORD, "role": "agent"},
        headers=web.auth("owner"),
    )
    assert response.status_code == 409
    assert response.json()["error"] == "user.taken"


def test_short_password_is_422_bilingual(web: WebEnv) -> None:
    response = web.client.post(
        "/api/users",
        json={"username": "li.si", "password": "short", "role": "agent"},
        headers=web.auth("owner"),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "user.invalid"
    assert "密码" in body["message_zh"] and "password" in body["message_en"]


def test_unknown_role_is_422(web: WebEnv) -> None:
    response = web.client.post(
        "/api/users",
        json={"username": "li.si", "password": PASSWORD, "role": "boss"},
        headers=web.auth("owner"),
    )
    assert response.status_code == 422
    assert response.json()["error"] == "validation"


def test_change_password(web: WebEnv) -> None:
    owner = web.auth("owner")
    agent_id = web.client.get("/api/auth/me", headers=web.auth("agent")).json()["id"]
    response = web.client.patch(f"/api/users/{agent_id}", json={"password": "changed-pw-1"}, headers=owner)
    assert response.status_code == 200
    assert (
        web.client.post("/api/auth/token", data={"username": "agent", "password": PASSWORD}).status_code
        == 401
    )
    assert web.token("agent", "changed-pw-1")


def test_patch_unknown_user_is_404(web: WebEnv) -> None:
    response = web.client.patch("/api/users/9999", json={"active": False}, headers=web.auth("owner"))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_change_role_and_name_takes_effect_at_once(web: WebEnv) -> None:
    owner = web.auth("owner")
    agent = web.auth("agent")
    agent_id = web.client.get("/api/auth/me", headers=agent).json()["id"]
    assert web.client.get("/api/users", headers=agent).status_code == 403
    change = {"role": "manager", "display_name": " 李经理 "}
    response = web.client.patch(f"/api/users/{agent_id}", json=change, headers=owner)
    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["display_name"]) == ("manager", "李经理")
    # the same token now carries the manager's permissions (the user is loaded per request)
    assert web.client.get("/api/users", headers=agent).status_code == 200


def test_nobody_disables_himself_or_changes_his_own_role(web: WebEnv) -> None:
    owner = web.auth("owner")
    owner_id = web.client.get("/api/auth/me", headers=owner).json()["id"]
    for change in ({"active": False}, {"role": "agent"}):
        refused = web.client.patch(f"/api/users/{owner_id}", json=change, headers=owner)
        assert refused.status_code == 409 and refused.json()["error"] == "user.self_change"
    renamed = web.client.patch(f"/api/users/{owner_id}", json={"display_name": "王老板", "role": "owner"},
                               headers=owner)
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "王老板"
    assert web.client.patch(f"/api/users/{owner_id}", json={"role": "owner"},
                            headers=web.auth("manager")).status_code == 403

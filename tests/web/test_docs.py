"""The API documentation works without internet access."""

from __future__ import annotations

from .conftest import WebEnv


def test_docs_page_loads_swagger_from_this_server(web: WebEnv) -> None:
    page = web.client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text and "https://" not in page.text.split("<body>")[0]


def test_docs_assets_are_served(web: WebEnv) -> None:
    script = web.client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert web.client.get("/docs/assets/swagger-ui.css").status_code == 200


def test_openapi_document_still_served(web: WebEnv) -> None:
    spec = web.client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/api/auth/token" in spec.json()["paths"]

"""API routers, one module per resource.

Every module here that defines ``router: fastapi.APIRouter`` is mounted by ``create_app``
(in module-name order), so adding a resource means adding a module, not editing the app.
"""

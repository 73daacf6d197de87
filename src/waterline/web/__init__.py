"""The web layer: FastAPI app, routes, auth and error mapping."""

"""The HTTP API (FastAPI): `create_app(settings)` and the routes of SPEC §7."""

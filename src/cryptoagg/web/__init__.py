"""The dashboard served at `/` — dashboard issue."""

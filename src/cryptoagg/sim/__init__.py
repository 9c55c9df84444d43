"""The provider simulator: one HTTP server that speaks each provider's wire format (SPEC §10)."""

"""JSON APIs: tocsin's own /api/v1, heartbeat pings, and operational endpoints."""

"""Public status pages: components backed by monitors, daily uptime bars, maintenance."""

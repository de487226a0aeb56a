"""Incident response: the status machine, the service that records every change, the timeline."""

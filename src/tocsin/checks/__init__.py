"""Synthetic checks: probes, conditions, the scheduler and monitor state."""

"""The alert pipeline: model, ingest, routing, grouping, silences, inhibition, maintenance."""

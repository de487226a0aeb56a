"""The notification pipeline: small stages, their order written once in build.py."""

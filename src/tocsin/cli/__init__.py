"""The `tocsin` command line."""

"""The HTTP surface: JSON APIs and server-rendered pages from the same views."""

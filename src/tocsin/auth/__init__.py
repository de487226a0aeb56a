"""Access control: roles, scopes, credentials, login rate limits and the authorization decision."""

"""Config as code: pydantic models, a YAML loader with file:line errors, transactional reload."""

"""Server-rendered pages: Jinja2 templates, inline SVG charts, no front-end build."""

"""HTTP handlers: load, authorize, delegate to a context, return a schema.

One router per resource: auth, users, projects, items (claims, locks, images,
history), work (scores, inspections, settlements, descriptions, reviews, ratings),
pages (HTML).
"""

from annotation_tool.api.handlers import auth, items, pages, projects, users, work

ROUTERS = (auth.router, users.router, projects.router, items.router, work.router, pages.router)

__all__ = ["ROUTERS"]

"""The portal's pages for citizens and re-users (issue 18): the territory, each dataset with its
preview, map and charts, each producer with its validity and freshness. ``install(app, portal)`` adds
them to the API's application."""

from portal.pages.routes import install

__all__ = ["install"]

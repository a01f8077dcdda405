"""The portal's pages for citizens and re-users (issue 18): the territory, each dataset with its
preview, map and charts, each producer with its validity and freshness.

``portal.pages.routes.install(app, portal)`` adds them to the API's application; ``context`` holds
every import the pages make from outside ``portal/``.
"""

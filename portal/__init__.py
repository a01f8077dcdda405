"""The portal face: ``territoire serve``, one ASGI application over the published warehouse.

A read-only consumer of the warehouse, like an analyst: it may import the registry, the schemas and
``resources.warehouse``'s read side; nothing else in the platform imports it. All its SQL is in
``portal/queries/``.
"""

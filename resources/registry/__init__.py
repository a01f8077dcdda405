"""The registry: producers × datasets × sources, declared in ``pipelines/*.yaml``, typed and checked here.

Import from the module that holds the name (``model``, ``load``, ``index``, ``location``): this file stays
empty so that the quick commands, which read only ``index``, never pay for pydantic.
"""

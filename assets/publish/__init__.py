"""Publishing: the files of each dataset, in its schema's lexical form, and what the portal harvests.

Modules, one idea each:

- :mod:`.files`: CSV, GeoJSON and (Geo)Parquet of one dataset, written atomically;
  :mod:`.lexical`: each typed value back in its field's lexical form;
- :mod:`.catalog` (pages and files), :mod:`.catalog_meta` (what is said), :mod:`.dcat_nodes` (the RDF
  resources), :mod:`.dcat_terms` (the vocabularies): the DCAT-AP catalogue udata harvests;
- :mod:`.portal`: the glue from the registry to the files, the manifest, the catalogue and the
  scoreboard.

The names below are the stage's public face; modules inside the package import each other directly.
"""

from assets.publish.files import PublishedFile, write_publication
from assets.publish.portal import (
    MANIFEST,
    publish_files,
    read_manifest,
    write_portal_catalogue,
    write_portal_scoreboard,
)

__all__ = [
    "MANIFEST",
    "PublishedFile",
    "publish_files",
    "read_manifest",
    "write_portal_catalogue",
    "write_portal_scoreboard",
    "write_publication",
]

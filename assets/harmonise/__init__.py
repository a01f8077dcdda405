"""Harmonising: a staged frame brought to its schema's fields, normalised, then validated (ingest).

Modules, one idea each:

- :mod:`.header_key`, :mod:`.headers`, :mod:`.aliases`, :mod:`.crosswalks`, :mod:`.near`: which
  source column feeds which field (names, titles, aliases, older versions, near matches);
- :mod:`.frame`: the frame-level harmonise (combined and split columns, normalised cells, points);
- :mod:`.normalise`: cell normalisers by Table Schema type; :mod:`.identifier_zeros` (SIRET, SIREN
  zeros), :mod:`.geometry` (points to EWKT), :mod:`.geojson_cells` (geometries to GeoJSON);
- :mod:`.ingest`: one file read, harmonised, validated, split into accepted and quarantined rows;
  :mod:`.missing_columns` (the refusal when required columns are missing), :mod:`.failure` (which
  stage failed, transient or not).

The names below are the stage's public face; modules inside the package import each other directly.
"""

from assets.harmonise.failure import StageFailure, failure_message, is_transient, stage
from assets.harmonise.frame import Harmonised, harmonise
from assets.harmonise.headers import HeaderMatch, match_headers
from assets.harmonise.ingest import Ingested, ingest_file

__all__ = [
    "HeaderMatch",
    "Harmonised",
    "Ingested",
    "StageFailure",
    "failure_message",
    "harmonise",
    "ingest_file",
    "is_transient",
    "match_headers",
    "stage",
]

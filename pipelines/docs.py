"""The data dictionary of the published tables: one self-contained HTML page for analysts.

Everything comes from the catalog COMMENTs the warehouse writes (schema titles and descriptions,
lineage, history and duplicates columns), so the page cannot drift from the tables it describes.
Jinja2 with autoescape: a comment is text from a schema, never markup.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jinja2
import markupsafe

from resources.warehouse import Warehouse

_PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dictionnaire des données publiées</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1e1e1e; }
h2 { margin-top: 2.5rem; font-family: monospace; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
code { font-size: .95em; }
nav li { font-family: monospace; }
.missing { color: #a00; }
</style>
</head>
<body>
<h1>Dictionnaire des données publiées</h1>
<p>Tables du schéma <code>published</code>, lisibles par le rôle <code>territoire_analyst</code>.
Généré le {{ generated }} depuis les commentaires du catalogue PostgreSQL.</p>
<nav><ul>
{% for table in tables %}<li><a href="#{{ table.name }}">{{ table.name }}</a></li>
{% endfor %}</ul></nav>
{% for table in tables %}
<section id="{{ table.name }}">
<h2>{{ table.name }}</h2>
<p>{% if table.comment %}{{ table.comment }}{% else %}{{ missing }}{% endif %}</p>
<table>
<thead><tr><th>Colonne</th><th>Type</th><th>Description</th></tr></thead>
<tbody>
{% for column in table.columns %}<tr><td><code>{{ column.name }}</code></td>
<td><code>{{ column.type }}</code></td>
<td>{% if column.comment %}{{ column.comment }}{% else %}{{ missing }}{% endif %}</td></tr>
{% endfor %}</tbody>
</table>
</section>
{% endfor %}
</body>
</html>
"""
)


def write_data_dictionary(warehouse: Warehouse, path: Path) -> Path:
    """Write the HTML data dictionary of every ``published`` table to ``path``; return ``path``."""
    path = Path(path)
    html = _PAGE.render(
        tables=warehouse.published_catalog(),
        missing=markupsafe.Markup('<span class="missing">Sans description.</span>'),
        generated=datetime.now(UTC).astimezone().strftime("%d/%m/%Y %H:%M"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path

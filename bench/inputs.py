"""Seeded benchmark inputs: SCDL subventions extracts of 1M and 5M rows, generated under ``bench/data/``.

The rows look like the demo territory's (22 communes granting to a few thousand associations), with
about 1-2 % of genuinely invalid cells (bad SIRET check digit, nature outside the list, percentage
of 0, ``oui`` for a boolean, 31 February) so that validation has errors to report, not just a happy
path. Generation is columnar with pyarrow compute (no Python loop per row): 5M rows in seconds.

Files (never committed; ``bench/data/`` is git-ignored):

- ``subventions-1m-utf8.csv``: UTF-8, ``,``, ``.`` decimals — the strict-validation input.
- ``subventions-1m-cp1252.csv``: the same rows in cp1252, ``;``, decimal commas — a commune's export.
- ``subventions-5m-utf8.csv``: 5M rows (other seeds), UTF-8 ``,`` — the streaming/memory input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from quality.schema import load_schema

DATA = Path(__file__).resolve().parent / "data"
SEED = 20240601
CHUNK_ROWS = 500_000

# The columns of SCDL subventions 2.1.1, in the schema's order.
FIELDS = load_schema("scdl-subventions").field_names

COMMUNES = [
    "Tours",
    "Joué-lès-Tours",
    "Saint-Cyr-sur-Loire",
    "Saint-Pierre-des-Corps",
    "La Riche",
    "Saint-Avertin",
    "Chambray-lès-Tours",
    "Fondettes",
    "Ballan-Miré",
    "Notre-Dame-d'Oé",
    "Mettray",
    "Luynes",
    "Savonnières",
    "Villandry",
    "Berthenay",
    "Saint-Genouph",
    "Chanceaux-sur-Choisille",
    "Parçay-Meslay",
    "Rochecorbon",
    "Saint-Étienne-de-Chigny",
    "Druye",
    "Villandry-le-Vieux",
]
KINDS = [
    "Association sportive",
    "Comité des fêtes",
    "Amicale laïque",
    "Club de l’âge d’or",
    "Société musicale",
    "Œuvre de bienfaisance",
    "Théâtre",
    "Association des parents d’élèves",
]
OBJETS = [
    "Subvention de fonctionnement",
    "Aide à l’organisation d’une manifestation",
    "Soutien aux activités périscolaires",
    "Projet culturel « Été en fête »",
    "Équipement sportif – renouvellement",
    "Aide exceptionnelle (crue de la Loire)",
    "Fonctionnement de l’école de musique",
    "Séjour éducatif des jeunes",
]
NATURES = ["aide en numéraire", "aide en nature", "aide en numéraire;aide en nature"]
CONDITIONS = ["unique", "échelonné", "versement unique à la signature", "50 % à la signature, 50 % au bilan"]
DISPOSITIFS = ["", "", "Contrat de ville", "Fonds de soutien associatif", "Appel à projets jeunesse"]


def _luhn_digit(digits: np.ndarray) -> np.ndarray:
    """The check digit making ``digits`` + it pass Luhn (digits: rows of 0-9)."""
    width = digits.shape[1] + 1
    doubled = (width - 1 - np.arange(width - 1)) % 2 == 1
    d = digits.copy()
    d[:, doubled] *= 2
    d[d > 9] -= 9
    return (10 - d.sum(axis=1) % 10) % 10


def _sirets(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` valid SIRET numbers as int64 (SIREN and SIRET keys both right)."""
    siren = rng.integers(0, 10, size=(n, 8))
    siren[:, 0] = rng.integers(1, 10, size=n)  # never La Poste's 356000000, never a leading 0
    siren = np.column_stack([siren, _luhn_digit(siren)])
    nic = rng.integers(0, 10, size=(n, 4))
    siret = np.column_stack([siren, nic])
    siret = np.column_stack([siret, _luhn_digit(siret)])
    return (siret * 10 ** np.arange(13, -1, -1)).sum(axis=1)


def _text(values: np.ndarray | list) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _take(pool: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(pool, pa.string()).take(pa.array(idx))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _pad(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_text(values), width, "0")


def _iso(days: np.ndarray) -> pa.Array:
    return pc.strftime(pa.array(days.astype("datetime64[D]")), format="%Y-%m-%d")


def subventions_table(n: int, seed: int) -> pa.Table:
    """``n`` rows of SCDL subventions, all text, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    commune = rng.integers(0, len(COMMUNES), n)
    commune_siret = _sirets(np.random.default_rng(SEED), len(COMMUNES))
    beneficiaries = 20_000
    ben = rng.integers(0, beneficiaries, n)
    ben_siret = _sirets(np.random.default_rng(SEED + 1), beneficiaries)
    start = np.datetime64("2015-01-01").astype(np.int64)
    conv = start + rng.integers(0, 3650, n)
    cents = rng.lognormal(11, 1.5, n).astype(np.int64) + 100

    id_ben = pc.cast(pa.array(ben_siret[ben]), pa.string())
    bad_siret = rng.random(n) < 0.01
    id_ben = pc.if_else(pa.array(bad_siret), _join(pc.utf8_slice_codeunits(id_ben, 0, 13), "0"), id_ben)
    no_siret = rng.random(n) < 0.05
    id_ben = pc.if_else(pa.array(no_siret), "", id_ben)
    rna = pc.if_else(pa.array(no_siret), _join("W", _pad(rng.integers(0, 10**9, n), 9)), "")

    nature = rng.integers(0, len(NATURES), n)
    nature_col = _take(NATURES + ["numéraire"], np.where(rng.random(n) < 0.005, len(NATURES), nature))
    staggered = rng.random(n) < 0.4
    period_start = conv + rng.integers(0, 60, n)
    period = pc.if_else(
        pa.array(staggered),
        _join(_iso(period_start), "/", _iso(period_start + 180)),
        _iso(period_start),
    )
    date_conv = pc.if_else(pa.array(rng.random(n) < 0.002), "2020-02-31", _iso(conv))
    notif = _take(["non", "oui", "vrai"], np.where(rng.random(n) < 0.003, 2, rng.random(n) < 0.1))
    pct_hundredths = np.where(rng.random(n) < 0.7, 100, rng.integers(0, 100, n))
    pct = pc.if_else(
        pa.array(pct_hundredths == 100), "1", _join("0.", _pad(pct_hundredths, 2))
    )  # 0.00 breaks minimum 0.01, as a few real rows do
    year = (conv.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970).astype(str)
    columns = {
        "nomAttribuant": _join("Commune de ", _take(COMMUNES, commune)),
        "idAttribuant": pc.cast(pa.array(commune_siret[commune]), pa.string()),
        "dateConvention": date_conv,
        "referenceDecision": _join("DEL-", _text(year), "-", _pad(rng.integers(1, 400, n), 3)),
        "nomBeneficiaire": _join(
            _take(KINDS, ben % len(KINDS)), " de ", _take(COMMUNES, ben % len(COMMUNES)), " n°", _text(ben)
        ),
        "idBeneficiaire": id_ben,
        "rnaBeneficiaire": rna,
        "objet": _join(_take(OBJETS, rng.integers(0, len(OBJETS), n)), " ", _text(year)),
        "montant": _join(_text(cents // 100), ".", _pad(cents % 100, 2)),
        "nature": nature_col,
        "conditionsVersement": _take(CONDITIONS, rng.integers(0, len(CONDITIONS), n)),
        "datesPeriodeVersement": period,
        "idRAE": pa.array([""] * n, pa.string()),
        "notificationUE": notif,
        "pourcentageSubvention": pct,
        "dispositifAide": _take(DISPOSITIFS, rng.integers(0, len(DISPOSITIFS), n)),
    }
    return pa.table(columns)


def _write(path: Path, rows: int, seed: int, *, cp1252: bool = False) -> None:
    tmp = path.with_suffix(".tmp")
    options = pacsv.WriteOptions(
        include_header=False, delimiter=";" if cp1252 else ",", quoting_style="needed"
    )
    with tmp.open("wb") as out:
        out.write(((";" if cp1252 else ",").join(FIELDS) + "\r\n" * cp1252 + "\n" * (not cp1252)).encode())
        for i, start in enumerate(range(0, rows, CHUNK_ROWS)):
            table = subventions_table(min(CHUNK_ROWS, rows - start), seed + i)
            if cp1252:
                montant = pc.replace_substring(table["montant"], ".", ",")
                pct = pc.replace_substring(table["pourcentageSubvention"], ".", ",")
                table = table.set_column(8, "montant", montant).set_column(14, "pourcentageSubvention", pct)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table, sink, options)
            data = sink.getvalue().to_pybytes()
            if cp1252:  # a Windows export: CRLF line ends, Windows-1252 letters
                data = data.decode("utf-8").replace("\n", "\r\n").encode("cp1252")
            out.write(data)
    tmp.replace(path)


INPUTS = {
    "1m-utf8": ("subventions-1m-utf8.csv", 1_000_000, SEED, False),
    "1m-cp1252": ("subventions-1m-cp1252.csv", 1_000_000, SEED, True),
    "5m-utf8": ("subventions-5m-utf8.csv", 5_000_000, SEED + 1000, False),
}


def ensure_inputs(data: Path = DATA) -> dict[str, Path]:
    """Generate the missing inputs; return their paths by key."""
    data.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, (name, rows, seed, cp1252) in INPUTS.items():
        path = data / name
        if not path.exists():
            _write(path, rows, seed, cp1252=cp1252)
        paths[key] = path
    return paths


def head_slice(source: Path, rows: int, target: Path) -> Path:
    """The header and first ``rows`` records of a generated (one record per line) file."""
    if not target.exists():
        with source.open("rb") as src, target.open("wb") as out:
            for _ in range(rows + 1):
                out.write(src.readline())
    return target

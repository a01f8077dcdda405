"""Privacy gate (RGPD) before publication: what must not leave the platform does not.

Pure and vectorised (pandas string methods over whole columns, no Python loop per cell). Three
kinds of personal data are handled, each counted so the publication says what it held back:

1. **Declared personal fields.** A field is personal when the dataset's registry entry lists it
   (``privacy: {personal_fields: [...]}``) or when its Table Schema descriptor says
   ``"x-personal": true`` (a custom property; frictionless ignores ``x-`` keys). The registry's
   ``action`` decides: ``withhold`` empties the cell (``""`` in a text column, missing otherwise), so
   the published file looks as if the value was never given; ``mask`` writes ``[donnée personnelle
   masquée]`` so a reader knows a value existed (only in text columns: elsewhere it is withheld).
2. **Personal contact details in any text field**, even where no one declared them:
   - e-mail addresses of individuals: any address on a consumer mailbox provider (gmail, orange,
     wanadoo, free, hotmail, laposte.net, sfr, yahoo, ... — a mailbox there belongs to a person,
     even ``contact.asso@gmail.com``), and on any other domain an address whose local part starts
     with a common first name or an initial followed by a separator (``jean.dupont@``,
     ``marie-claire_martin@``, ``j.dupont@``). Functional addresses on institutional domains
     (``contact@``, ``mairie@``, ``accueil@``, ``dsi@``) are kept: they are the institution's.
     Known gap: ``jdupont@ville.fr`` (initial glued to the name) is indistinguishable from a
     function acronym and is kept.
   - French mobile phone numbers (06/07, also ``+33 6``/``0033 7``, with spaces, dots or dashes):
     ARCEP assigns them to subscribers, i.e. mostly persons. Landlines (01-05, 09) and service
     numbers (08) are kept: institutions publish their switchboards on purpose.
3. **Natural persons as grant beneficiaries** (frames with ``nomBeneficiaire``, i.e. SCDL
   subventions): a beneficiary with no SIREN/SIRET (``idBeneficiaire``) and no RNA number
   (``rnaBeneficiaire``) whose name looks like a person's — a civility (``M.``, ``Mme``,
   ``Monsieur``...) or two/three capitalised words one of which, at either end, is a common French
   first name, and no word that names an organisation (``association``, ``club``, ``saint``...) — is
   published as ``Personne physique``. The grant stays public, the person's name does not: personal
   data is published online only once anonymised (code des relations entre le public et
   l'administration, art. L312-1-2).

A list of common French first names is shipped below (INSEE's most given first names, ASCII-folded):
no library provides one, and the whole INSEE file (~35,000 names, many also common words) would
flag far more association names than it would catch persons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Action = Literal["withhold", "mask"]
ACTIONS: tuple[str, ...] = ("withhold", "mask")

PERSONAL_MARKER = "x-personal"
MASKED_VALUE = "[donnée personnelle masquée]"
MASKED_EMAIL = "[courriel masqué]"
MASKED_PHONE = "[téléphone masqué]"
NATURAL_PERSON = "Personne physique"

KINDS = (
    "email_masked",
    "phone_masked",
    "natural_person_withheld",
    "personal_field_withheld",
    "personal_field_masked",
)

# Consumer mailbox providers in France (and the big international ones).
WEBMAIL_DOMAINS = (
    "gmail.com googlemail.com orange.fr wanadoo.fr free.fr aliceadsl.fr hotmail.fr hotmail.com "
    "live.fr live.com msn.com outlook.fr outlook.com laposte.net sfr.fr neuf.fr cegetel.net "
    "club-internet.fr numericable.fr bbox.fr yahoo.fr yahoo.com ymail.com aol.com aol.fr icloud.com "
    "me.com mac.com gmx.fr gmx.com gmx.net protonmail.com proton.me voila.fr tiscali.fr noos.fr "
    "netcourrier.com mailo.com"
).split()

# Common French first names (INSEE fichier des prénoms, most given 1940-2020), ASCII-folded, lower
# case. Names that are also everyday words or place names (France, Rose, Olive, Lorraine...) are
# left out on purpose: they would flag associations, not persons.
FIRST_NAMES = frozenset(
    """
    adam adele adrien agathe agnes alain albert alexandra alexandre alexis alice aline alix amandine
    amelie anais andre andree angelique anne annick annie antoine antonin arnaud arthur audrey aurelie
    aurelien axel baptiste beatrice benjamin benoit bernadette bernard bertrand brigitte bruno camille
    caroline catherine cecile celine chantal charlotte chloe christelle christian christiane christine
    christophe claire clara claude claudine clement colette corinne cyril cyrille damien daniel
    danielle david delphine denis denise didier dominique dylan eliane elisabeth elise elodie eloise
    emile emilie emma emmanuel emmanuelle enzo eric estelle ethan etienne eugenie eva evelyne fabien
    fabienne fabrice fanny felix fernand fernande florence florent florian francis francine francois
    francoise franck frederic frederique gabriel gabrielle gael gaelle gaston genevieve georges
    gerard germaine gilbert gilles ginette gisele guillaume guy guylaine helene henri henriette herve
    hugo hugues ines irene isabelle jacqueline jacques jean jeanne jeannine jeremy jerome joel joelle
    jordan josette joseph josiane julie julien juliette justine karine kevin laetitia laura laurence
    laurent lea lea leo leon leonie lilian liliane lina lise louis louise luc luca lucas lucie lucien
    lucienne lucile ludovic lydie madeleine maelle manon marc marcel marcelle margaux margot
    marguerite maria marie marine marion marius martine mathieu mathilde mathis matteo matthieu maurice
    maxime melanie michel micheline michele mickael mireille monique morgane muriel myriam nadine
    nadia natacha nathalie nicolas nicole noah noel noemie oceane odette odile olivier pascale
    patrice patricia patrick paul paulette pauline philippe pierre quentin raphael raymond raymonde
    regine regis remi renee richard robert roger roland romain rose-marie sabine sacha samuel sandra
    sandrine sarah sebastien serge severine simone solange sophie stephane stephanie suzanne sylvain
    sylvie tanguy theo therese thibault thierry thomas timothee tom valentin valerie vanessa veronique
    victor victoria vincent virginie xavier yann yannick yves yvette yvonne zoe
    """.split()
)

# A word that names an organisation, a place or a title: never in a person's name as published.
_ORGANISATION_WORDS = frozenset(
    """
    association asso assoc amicale amis atelier ateliers cercle centre club clubs collectif college
    comite commune compagnie cie cooperative coop conservatoire creche departement ecole ensemble
    entreprise etablissement federation festival fondation foyer groupe groupement institut ligue
    lycee mairie maison mutuelle office orchestre region sarl sas sasu sa sci scop eurl earl gaec
    societe syndicat theatre union ville les le la des du de et saint sainte st ste sports sport
    football rugby tennis basket judo musique chorale radio prod production productions
    """.split()
)

_UPPER = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ"
_LOWER = "a-zàâäçéèêëîïôöùûüÿ"
# A capitalised word ("Dupont", "Jean-Pierre") or a word in capitals ("DUPONT", "LE-GALL").
_WORD = rf"(?:[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)*|[{_UPPER}]{{2,}}(?:-[{_UPPER}]{{2,}})*)"
_PERSON_SHAPE = re.compile(rf"^{_WORD}(?: {_WORD}){{1,2}}$")
_CIVILITIES = "M MM Mr Mme Mmes Mlle Melle MME MLLE Monsieur Madame Mademoiselle MONSIEUR MADAME".split()
_CIVILITY = re.compile(rf"^(?:{'|'.join(_CIVILITIES)})(?:\. ?| )[{_UPPER}]")
_LEGAL_ID = re.compile(r"^[0-9]{9}(?:[0-9]{5})?$")  # SIREN or SIRET
_RNA = re.compile(r"^W[0-9]{9}$")

_LOCAL = r"(?<![\w.+'-])"  # the address starts here, not inside a longer token
_WEBMAIL_EMAIL = _LOCAL + r"[\w.+'-]+@(?:" + "|".join(re.escape(d) for d in WEBMAIL_DOMAINS) + r")(?![\w-])"
_NAMED_EMAIL = (
    _LOCAL
    + r"(?:(?:"
    + "|".join(sorted(FIRST_NAMES, key=len, reverse=True))
    + r")(?:[._-][\w'-]+)*|[a-z][._][\w'-]+(?:[._-][\w'-]+)*)@[\w-]+(?:\.[\w-]+)+"
)
PERSONAL_EMAIL = re.compile(f"(?:{_WEBMAIL_EMAIL}|{_NAMED_EMAIL})", re.IGNORECASE)
# Spaces as spreadsheets write them (no-break and narrow no-break included), spelled out rather
# than \s so that pandas can hand the first pass to pyarrow's RE2 (Python's re is the slow path).
_SPACE = " \t\u00a0\u202f"
_SEP = f"[{_SPACE}.-]"
# No look-around, \s nor \d: RE2 runs it over every value; MOBILE_PHONE then runs on the few hits.
_MOBILE_HINT = f"(?:0|33)[{_SPACE}]?(?:\\(0\\)[{_SPACE}]?)?[67](?:{_SEP}?[0-9]{{2}}){{4}}"
MOBILE_PHONE = re.compile(
    f"(?<![0-9+])(?:(?:\\+|00)[{_SPACE}]?33[{_SPACE}]?(?:\\(0\\)[{_SPACE}]?)?|0)"
    f"[67](?:{_SEP}?[0-9]{{2}}){{4}}(?![0-9])"
)


class PrivacyConfigError(ValueError):
    """A registry ``privacy:`` block that cannot be applied."""


@dataclass(frozen=True)
class PrivacyRules:
    """A dataset's privacy rules, from its registry entry's ``privacy:`` block."""

    personal_fields: tuple[str, ...] = ()
    action: Action = "withhold"
    scan_text: bool = True  # look for personal e-mails and mobile numbers in every text field
    natural_persons: bool = True  # withhold grant beneficiaries who are natural persons

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise PrivacyConfigError(
                f"privacy.action « {self.action} » inconnue : valeurs possibles {', '.join(ACTIONS)}"
            )

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> PrivacyRules:
        """``{personal_fields: [...], action: mask|withhold, scan_text: bool, natural_persons: bool}``.

        Every key is optional; no block at all still scans text and grant beneficiaries.
        """
        config = dict(config or {})
        unknown = set(config) - {"personal_fields", "action", "scan_text", "natural_persons"}
        if unknown:
            raise PrivacyConfigError(f"clés inconnues dans privacy : {', '.join(sorted(unknown))}")
        fields = config.get("personal_fields") or []
        if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
            raise PrivacyConfigError("privacy.personal_fields doit être une liste de noms de champs")
        for flag in ("scan_text", "natural_persons"):
            if not isinstance(config.get(flag, True), bool):
                raise PrivacyConfigError(f"privacy.{flag} doit valoir true ou false")
        return cls(
            personal_fields=tuple(fields),
            action=config.get("action", "withhold"),
            scan_text=config.get("scan_text", True),
            natural_persons=config.get("natural_persons", True),
        )


def personal_fields(schema: Any, rules: PrivacyRules) -> list[str]:
    """Fields declared personal by the registry or by the schema (``"x-personal": true``)."""
    declared = [f.name for f in getattr(schema, "fields", []) if f.descriptor.get(PERSONAL_MARKER) is True]
    return list(dict.fromkeys([*rules.personal_fields, *declared]))


def apply_privacy(
    frame: pd.DataFrame, schema: Any, rules: PrivacyRules
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The frame to publish and how many values of each kind were held back (see module doc).

    ``frame`` is a harmonised text frame or a typed frame; it is not modified. ``schema`` is a
    ``quality.schema.TableSchema`` (or None). A declared personal field that the frame lacks is an
    error: a renamed column must not let personal data through silently.
    """
    out = frame.copy()
    counts = dict.fromkeys(KINDS, 0)
    declared = personal_fields(schema, rules)
    missing = [name for name in rules.personal_fields if name not in out.columns]
    if missing:
        raise PrivacyConfigError(f"champs personnels déclarés absents de la table : {', '.join(missing)}")
    declared = [name for name in declared if name in out.columns]
    # Decided on the values as received, before any field of the row is withheld or masked.
    persons = None
    if rules.natural_persons and "nomBeneficiaire" in frame.columns and "nomBeneficiaire" not in declared:
        persons = natural_persons(frame)

    for name in declared:
        column = out[name]
        present = _present(column)
        if _is_text(column) and rules.action == "mask":
            out[name] = column.where(~present, MASKED_VALUE)
            counts["personal_field_masked"] += int(present.sum())
        else:
            out[name] = column.where(~present, "" if _is_text(column) else None)
            counts["personal_field_withheld"] += int(present.sum())

    if persons is not None:
        out.loc[persons, "nomBeneficiaire"] = NATURAL_PERSON
        counts["natural_person_withheld"] = int(persons.sum())

    if rules.scan_text:
        for name in out.columns:
            if name in declared or not _is_text(out[name]):
                continue
            out[name], emails = _mask(out[name], "@", PERSONAL_EMAIL, MASKED_EMAIL)
            out[name], phones = _mask(out[name], None, MOBILE_PHONE, MASKED_PHONE)
            counts["email_masked"] += emails
            counts["phone_masked"] += phones
    return out, counts


def natural_persons(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of grant rows whose beneficiary is a natural person (see module doc)."""
    identified = pd.Series(False, index=frame.index)
    for column, pattern in (("idBeneficiaire", _LEGAL_ID), ("rnaBeneficiaire", _RNA)):
        if column in frame.columns:
            value = _text(frame[column]).str.replace(f"[{_SPACE}.]", "", regex=True).str.upper()
            identified |= value.str.fullmatch(pattern).astype(bool)
    # Beneficiaries recur from row to row: each distinct name is judged once.
    codes, names = pd.factorize(_text(frame["nomBeneficiaire"]))
    person = _looks_like_person(pd.Series(names, dtype="string")).to_numpy(dtype=bool)
    return pd.Series(person[codes], index=frame.index) & ~identified


def _looks_like_person(names: pd.Series) -> pd.Series:
    name = names.str.replace(f"[{_SPACE}]+", " ", regex=True).str.strip()
    civility = name.str.match(_CIVILITY).astype(bool)
    shaped = name.str.fullmatch(_PERSON_SHAPE).astype(bool) & ~civility
    if not shaped.any():
        return civility
    words = _fold(name[shaped]).str.split(" ", expand=True).reindex(columns=range(3)).astype("string")
    words = words.fillna("")
    last = words[2].where(words[2] != "", words[1])
    # "Jean-Pierre" counts by its first part; an organisation word anywhere vetoes.
    first_name = words[0].str.split("-").str[0].isin(FIRST_NAMES) | last.str.split("-").str[0].isin(
        FIRST_NAMES
    )
    organisation = words.isin(_ORGANISATION_WORDS).any(axis=1)
    named = (first_name & ~organisation).reindex(name.index, fill_value=False).astype(bool)
    return civility | named


def _mask(column: pd.Series, needle: str | None, pattern: re.Pattern, marker: str) -> tuple[pd.Series, int]:
    # Each distinct value is searched once (open data repeats itself: "Subvention de fonctionnement").
    codes, uniques = pd.factorize(_text(column))
    values = pd.Series(uniques, dtype="string")
    # A cheap test first, so most values never reach the Python regex.
    candidates = (
        values.str.contains(needle, regex=False) if needle else values.str.contains(_MOBILE_HINT, regex=True)
    ).astype(bool)
    if not candidates.any():
        return column, 0
    found = values[candidates].str.count(pattern)
    found = found[found > 0]
    if found.empty:
        return column, 0
    replaced = values.copy()
    replaced[found.index] = values[found.index].str.replace(pattern, marker, regex=True)
    per_value = np.zeros(len(values), dtype=np.int64)
    per_value[found.index.to_numpy()] = found.to_numpy(dtype=np.int64)
    changed = per_value[codes] > 0
    out = column.copy()
    out[changed] = replaced.to_numpy()[codes[changed]]
    return out, int(per_value[codes].sum())


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column)


def _text(column: pd.Series) -> pd.Series:
    return column.astype("string").fillna("")


def _present(column: pd.Series) -> pd.Series:
    present = column.notna()
    if _is_text(column):
        present &= _text(column).str.strip() != ""
    return present


def _fold(text: pd.Series) -> pd.Series:
    """Lower case without accents, as FIRST_NAMES is written."""
    return text.str.normalize("NFKD").str.encode("ascii", errors="ignore").str.decode("ascii").str.lower()


__all__ = [
    "KINDS",
    "PrivacyConfigError",
    "PrivacyRules",
    "apply_privacy",
    "natural_persons",
    "personal_fields",
]

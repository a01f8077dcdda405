"""Privacy gate (RGPD) before publication: what must not leave the platform does not.

Pure and vectorised (pandas string methods over whole columns, no Python loop per cell). Three
kinds of personal data are handled, each counted so the publication says what it held back:

1. **Declared personal fields.** A field is personal when the dataset's registry entry lists it
   (``privacy: {personal_fields: [...]}``) or when its Table Schema descriptor says
   ``"x-personal": true`` (a custom property; frictionless ignores ``x-`` keys). The registry's
   ``action`` decides: ``withhold`` empties the cell (``""`` in a text column, missing otherwise), so
   the published file looks as if the value was never given; ``mask`` writes ``[donnée personnelle
   masquée]`` so a reader knows a value existed (only in text columns: elsewhere it is withheld).
2. **Personal contact details in free text.** Only in the fields a dataset declares as free text
   (``privacy: {free_text: [...]}`` in the registry: an object, a description, comments), never in
   identifiers, keys, codes, numbers, dates, URLs, geometry or enums, whatever they hold: the gate
   once rewrote ``TOUR-0612345678`` and a point written as text. A dataset that declares nothing
   gets the fields :func:`derived_free_text` finds (string, no format, pattern nor enum, not in a
   key, not named like an identifier, code, reference or link); each declared field is checked
   against the same rule, so a registry typo cannot send the gate into a key. Matches count only
   as whole tokens: a number glued to a word (``TOUR-0612345678``), inside a URL or a path is
   left alone.
   - e-mail addresses of individuals: any address on a consumer mailbox provider (gmail, orange,
     wanadoo, free, hotmail, laposte.net, sfr, yahoo, ... — a mailbox there belongs to a person,
     even ``contact.asso@gmail.com``), and on any other domain an address whose local part starts
     with a common first name or an initial (``jean.dupont@``, ``j.dupont@``) or is two words
     joined by ``.``, ``_`` or ``-`` whose first is not a function (``prenom.nom@ville-x.fr``).
     Role mailboxes (``contact@``, ``mairie@``, ``accueil@``, ``service.culture@``) are kept: they
     are the institution's, published on purpose. Known gap: ``jdupont@ville.fr`` (initial glued
     to the name) is indistinguishable from a function acronym and is kept.
   - phone numbers of persons, found by ``phonenumbers.PhoneNumberMatcher`` (libphonenumber), French
     and international, in their usual shapes (``06 12 34 56 78``, ``06.12…``, ``06/12/…``,
     ``+33 6…``, ``+33.6…``, ``(+33) 6…``, ``+33 (0)6…``), at leniency ``VALID``: the number must
     exist in the numbering plan, which keeps amounts, dates and digit runs out (``POSSIBLE`` only
     checks the length). Mobile, personal and pager numbers are masked; landlines, VoIP and
     service numbers (01-05, 08, 09) are kept: institutions publish their switchboards on purpose.
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
import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType

from quality.text import ascii_only

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
WEBMAIL_DOMAINS_SET = frozenset(WEBMAIL_DOMAINS)

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

# Spaces as spreadsheets write them (no-break and narrow no-break included), spelled out rather
# than \s so that pandas can hand the first pass to pyarrow's RE2 (Python's re is the slow path).
_SPACE = " \t\u00a0\u202f"
# Any address-shaped token; whether it is a person's is decided by ``personal_email``.
EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+(?![\w@-])")
# Local parts that name a function, not a person (first word of ``service.culture@``).
ROLE_WORDS = frozenset(
    """
    contact contacts mairie accueil info infos information informations service services secretariat
    direction dsi dpo rgpd communication culture sport sports jeunesse urbanisme etat etatcivil population
    courrier courriers webmaster admin administration support noreply no ne presse mediatheque
    bibliotheque cabinet elus marches commande commandes associations asso vie technique techniques
    police ccas enfance scolaire ecole periscolaire creche citoyennete evenementiel tourisme office
    assainissement eau dechets environnement voirie mobilite mobilites transport transports rh drh
    finances compta comptabilite facturation factures reservation reservations billetterie standard
    maire president secretaire regie espaces piscine musee theatre conservatoire archives
    """.split()
)
# A cheap RE2 test for a value that may hold a phone number: nine digits or more, possibly grouped.
_PHONE_HINT = f"[0-9](?:[{_SPACE}.()/+-]*[0-9]){{8}}"
PERSONAL_PHONE_TYPES = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PERSONAL_NUMBER,
     PhoneNumberType.PAGER, PhoneNumberType.VOICEMAIL}
)  # fmt: skip
# libphonenumber reads "06/12/34/…" as a date: slashes between digits become spaces in a
# same-length copy used for matching, so spans still point at the original text.
_SLASHED = re.compile(r"(?<![0-9/])0[1-9](?:/[0-9]{2}){4}(?![0-9/])")
# Characters that glue a number to the word before or after it into one token (an identifier, a
# path): TOUR-0612345678, doc/0612345678, ref_0612345678. A dot or a colon does not ("Tél.06…",
# "tel:06…"), and a slash between two numbers is two numbers ("06 … 78/02 …").
_JOINERS = "-_/=#&?+@\\"
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.IGNORECASE)


class PrivacyConfigError(ValueError):
    """A registry ``privacy:`` block that cannot be applied."""


@dataclass(frozen=True)
class PrivacyRules:
    """A dataset's privacy rules, from its registry entry's ``privacy:`` block."""

    personal_fields: tuple[str, ...] = ()
    action: Action = "withhold"
    scan_text: bool = True  # look for personal e-mails and phone numbers in the free-text fields
    natural_persons: bool = True  # withhold grant beneficiaries who are natural persons
    free_text: tuple[str, ...] | None = None  # None: derived from the schema (derived_free_text)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise PrivacyConfigError(
                f"privacy.action « {self.action} » inconnue : valeurs possibles {', '.join(ACTIONS)}"
            )

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> PrivacyRules:
        """``{personal_fields: [...], action: mask|withhold, scan_text: bool, natural_persons: bool,
        free_text: [...]}``.

        Every key is optional; no block at all still scans the derived free-text fields and grant
        beneficiaries.
        """
        config = dict(config or {})
        unknown = set(config) - {"personal_fields", "action", "scan_text", "natural_persons", "free_text"}
        if unknown:
            raise PrivacyConfigError(f"clés inconnues dans privacy : {', '.join(sorted(unknown))}")
        fields = config.get("personal_fields") or []
        if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
            raise PrivacyConfigError("privacy.personal_fields doit être une liste de noms de champs")
        free_text = config.get("free_text")
        if free_text is not None and (
            isinstance(free_text, str) or not all(isinstance(f, str) for f in free_text)
        ):
            raise PrivacyConfigError("privacy.free_text doit être une liste de noms de champs")
        for flag in ("scan_text", "natural_persons"):
            if not isinstance(config.get(flag, True), bool):
                raise PrivacyConfigError(f"privacy.{flag} doit valoir true ou false")
        return cls(
            personal_fields=tuple(fields),
            action=config.get("action", "withhold"),
            scan_text=config.get("scan_text", True),
            natural_persons=config.get("natural_persons", True),
            free_text=tuple(free_text) if free_text is not None else None,
        )


def personal_fields(schema: Any, rules: PrivacyRules) -> list[str]:
    """Fields declared personal by the registry or by the schema (``"x-personal": true``)."""
    declared = [f.name for f in getattr(schema, "fields", []) if f.descriptor.get(PERSONAL_MARKER) is True]
    return list(dict.fromkeys([*rules.personal_fields, *declared]))


# Words of a field name that say it identifies, codes or links something: never free text.
IDENTIFIER_WORDS = frozenset(
    """
    id uid uuid identifiant code codepostal cp ref reference num numero no siret siren rna insee url uri
    lien link email mail courriel tel telephone phone matricule serie version parent
    """.split()
)


def _name_words(name: str) -> set[str]:
    """``idBeneficiaire`` → {id, beneficiaire}; ``EQUIP_CODE`` → {equip, code}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^a-z0-9]+", _fold_one(spaced)) if w}


def derived_free_text(schema: Any) -> list[str]:
    """Fields that can only be free text: string, no format, pattern nor enum, in no key, and not
    named like an identifier, a code, a reference, a number or a link (``idBeneficiaire``,
    ``EQUIP_CODE``, ``referenceDecision``, ``num_serie``, ``url_info``)."""
    return [f.name for f in getattr(schema, "fields", []) if _may_be_free_text(f, schema) is None]


def free_text_fields(schema: Any, rules: PrivacyRules) -> list[str]:
    """The fields the gate scans: the registry's ``free_text``, else :func:`derived_free_text`.

    A declared field the schema has not, or that holds a type, format, pattern, enum or key, is a
    configuration error: the gate must never rewrite a value whose form the schema fixes.
    """
    if rules.free_text is None:
        return derived_free_text(schema)
    if schema is None:
        return list(rules.free_text)
    problems = []
    for name in rules.free_text:
        try:
            field = schema.field(name)
        except KeyError:
            problems.append(f"« {name} » n'est pas un champ du schéma")
            continue
        reason = _may_be_free_text(field, schema)
        if reason:
            problems.append(f"« {name} » {reason}")
    if problems:
        raise PrivacyConfigError("privacy.free_text : " + " ; ".join(problems))
    return list(rules.free_text)


def _may_be_free_text(field: Any, schema: Any) -> str | None:
    """Why ``field`` cannot be free text, or None when it can."""
    keys = set(getattr(schema, "primary_key", None) or [])
    for unique in getattr(schema, "unique_keys", None) or []:
        keys.update([unique] if isinstance(unique, str) else unique)
    if field.type != "string":
        return f"est de type {field.type}"
    if field.format not in (None, "default"):
        return f"a le format {field.format}"
    for constraint in ("pattern", "enum"):
        if constraint in field.constraints:
            return f"a une contrainte {constraint}"
    if field.descriptor.get("unique") or field.constraints.get("unique") or field.name in keys:
        return "est une clé"
    if _name_words(field.name) & IDENTIFIER_WORDS:
        return "est nommé comme un identifiant"
    return None


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
        for name in free_text_fields(schema, rules):
            if name in declared or name not in out.columns or not _is_text(out[name]):
                continue
            out[name], emails = _mask(out[name], "@", mask_emails)
            out[name], phones = _mask(out[name], _PHONE_HINT, mask_phones)
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


def mask_emails(text: str) -> tuple[str, int]:
    """``text`` with the addresses of individuals replaced by :data:`MASKED_EMAIL`, and how many."""
    spans = [(m.start(), m.end()) for m in EMAIL.finditer(text) if personal_email(m.group())]
    return _replace_spans(text, spans, MASKED_EMAIL), len(spans)


def personal_email(address: str) -> bool:
    """Whether an address is a person's (see module doc): webmail, first name, initial, or two words
    whose first is not a function."""
    local, _, domain = address.lower().rpartition("@")
    if domain in WEBMAIL_DOMAINS_SET:
        return True
    words = [w for w in re.split(r"[._-]+", _fold_one(local)) if w]
    if not words or words[0] in ROLE_WORDS:
        return False
    if words[0] in FIRST_NAMES:
        return True
    if len(words) >= 2 and (len(words[0]) == 1 or all(w.isalpha() for w in words[:2])):
        return True
    return False


def mask_phones(text: str) -> tuple[str, int]:
    """``text`` with persons' phone numbers, as whole tokens, replaced by :data:`MASKED_PHONE`."""
    probe = _SLASHED.sub(lambda m: m.group().replace("/", " "), text)
    urls = [(m.start(), m.end()) for m in _URL.finditer(text)]
    spans = []
    for match in PhoneNumberMatcher(probe, "FR", leniency=Leniency.VALID):
        start, end = match.start, match.end
        if phonenumbers.number_type(match.number) not in PERSONAL_PHONE_TYPES:
            continue
        if not _whole_token(text, start, end) or any(a < end and start < b for a, b in urls):
            continue
        spans.append((start, end))
    return _replace_spans(text, spans, MASKED_PHONE), len(spans)


def _whole_token(text: str, start: int, end: int) -> bool:
    """The span is not glued to a word: no letter or digit right before or after it, nor a joiner
    (``-``, ``/``, ``_``…) that itself touches one."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if before.isalnum() or after.isalnum():
        return False
    if before and before in _JOINERS and start > 1 and _glued(before, text[start - 2]):
        return False
    if after and after in _JOINERS and end + 1 < len(text) and _glued(after, text[end + 1]):
        return False
    return True


def _glued(joiner: str, neighbour: str) -> bool:
    return neighbour.isalpha() if joiner == "/" else neighbour.isalnum()


def _replace_spans(text: str, spans: list[tuple[int, int]], marker: str) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + marker + text[end:]
    return text


def _mask(column: pd.Series, hint: str, masker) -> tuple[pd.Series, int]:
    # Each distinct value is searched once (open data repeats itself: "Subvention de fonctionnement").
    codes, uniques = pd.factorize(_text(column))
    values = pd.Series(uniques, dtype="string")
    # A cheap RE2 test first, so most values never reach the Python matchers.
    candidates = values.str.contains(hint, regex=hint != "@").fillna(False).astype(bool)
    if not candidates.any():
        return column, 0
    replaced = values.copy()
    per_value = np.zeros(len(values), dtype=np.int64)
    for position in np.flatnonzero(candidates.to_numpy()):
        masked, found = masker(values.iat[position])
        if found:
            replaced.iat[position] = masked
            per_value[position] = found
    if not per_value.any():
        return column, 0
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


def _fold_one(text: str) -> str:
    return ascii_only(text).lower()


def _fold(text: pd.Series) -> pd.Series:
    """Lower case without accents, as FIRST_NAMES is written."""
    return text.map(_fold_one)


__all__ = [
    "KINDS",
    "PrivacyConfigError",
    "PrivacyRules",
    "apply_privacy",
    "derived_free_text",
    "free_text_fields",
    "mask_emails",
    "mask_phones",
    "personal_email",
    "natural_persons",
    "personal_fields",
]

"""Natural persons among grant beneficiaries: no SIREN/SIRET nor RNA number, a person's name."""

from __future__ import annotations

import re

import pandas as pd

from quality.privacy.cells import SPACES, fold_series, text_of
from quality.privacy.first_names import FIRST_NAMES

NATURAL_PERSON = "Personne physique"

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


def natural_persons(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of grant rows whose beneficiary is a natural person (see module doc)."""
    identified = pd.Series(False, index=frame.index)
    for column, pattern in (("idBeneficiaire", _LEGAL_ID), ("rnaBeneficiaire", _RNA)):
        if column in frame.columns:
            value = text_of(frame[column]).str.replace(f"[{SPACES}.]", "", regex=True).str.upper()
            identified |= value.str.fullmatch(pattern).astype(bool)
    # Beneficiaries recur from row to row: each distinct name is judged once.
    codes, names = pd.factorize(text_of(frame["nomBeneficiaire"]))
    person = _looks_like_person(pd.Series(names, dtype="string")).to_numpy(dtype=bool)
    return pd.Series(person[codes], index=frame.index) & ~identified


def _looks_like_person(names: pd.Series) -> pd.Series:
    name = names.str.replace(f"[{SPACES}]+", " ", regex=True).str.strip()
    civility = name.str.match(_CIVILITY).astype(bool)
    shaped = name.str.fullmatch(_PERSON_SHAPE).astype(bool) & ~civility
    if not shaped.any():
        return civility
    words = fold_series(name[shaped]).str.split(" ", expand=True).reindex(columns=range(3)).astype("string")
    words = words.fillna("")
    last = words[2].where(words[2] != "", words[1])
    # "Jean-Pierre" counts by its first part; an organisation word anywhere vetoes.
    first_name = words[0].str.split("-").str[0].isin(FIRST_NAMES) | last.str.split("-").str[0].isin(
        FIRST_NAMES
    )
    organisation = words.isin(_ORGANISATION_WORDS).any(axis=1)
    named = (first_name & ~organisation).reindex(name.index, fill_value=False).astype(bool)
    return civility | named

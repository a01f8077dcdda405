"""Personal contact details in free text: individuals' e-mail addresses and persons' phone numbers.

Matches count only as whole tokens: a number glued to a word (``TOUR-0612345678``), inside a URL or a
path is left alone. Each distinct value of a column is searched once.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType

from quality.privacy.cells import SPACES, fold, text_of
from quality.privacy.first_names import FIRST_NAMES

MASKED_EMAIL = "[courriel masqué]"
MASKED_PHONE = "[téléphone masqué]"

# Consumer mailbox providers in France (and the big international ones).
WEBMAIL_DOMAINS = (
    "gmail.com googlemail.com orange.fr wanadoo.fr free.fr aliceadsl.fr hotmail.fr hotmail.com "
    "live.fr live.com msn.com outlook.fr outlook.com laposte.net sfr.fr neuf.fr cegetel.net "
    "club-internet.fr numericable.fr bbox.fr yahoo.fr yahoo.com ymail.com aol.com aol.fr icloud.com "
    "me.com mac.com gmx.fr gmx.com gmx.net protonmail.com proton.me voila.fr tiscali.fr noos.fr "
    "netcourrier.com mailo.com"
).split()
WEBMAIL_DOMAINS_SET = frozenset(WEBMAIL_DOMAINS)

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
PHONE_HINT = f"[0-9](?:[{SPACES}.()/+-]*[0-9]){{8}}"
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
    words = [w for w in re.split(r"[._-]+", fold(local)) if w]
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


def mask_column(column: pd.Series, hint: str, masker) -> tuple[pd.Series, int]:
    # Each distinct value is searched once (open data repeats itself: "Subvention de fonctionnement").
    codes, uniques = pd.factorize(text_of(column))
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

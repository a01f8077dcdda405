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

The package's modules: :mod:`.rules` (the registry block, which fields), :mod:`.contacts` (1 and 2's
e-mails and phones), :mod:`.persons` (3), :mod:`.first_names`, :mod:`.gate` (:func:`apply_privacy`).
"""

from __future__ import annotations

from quality.privacy.contacts import MASKED_EMAIL, MASKED_PHONE, mask_emails, mask_phones, personal_email
from quality.privacy.gate import KINDS, MASKED_VALUE, apply_privacy
from quality.privacy.persons import NATURAL_PERSON, natural_persons
from quality.privacy.rules import (
    PERSONAL_MARKER,
    PrivacyConfigError,
    PrivacyRules,
    derived_free_text,
    free_text_fields,
    personal_fields,
)

__all__ = [
    "KINDS",
    "MASKED_EMAIL",
    "MASKED_PHONE",
    "MASKED_VALUE",
    "NATURAL_PERSON",
    "PERSONAL_MARKER",
    "PrivacyConfigError",
    "PrivacyRules",
    "apply_privacy",
    "derived_free_text",
    "free_text_fields",
    "mask_emails",
    "mask_phones",
    "natural_persons",
    "personal_email",
    "personal_fields",
]

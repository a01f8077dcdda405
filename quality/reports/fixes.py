"""How to fix a broken rule, in one French sentence a commune agent can act on in a spreadsheet.

The validator's messages say *what* is wrong with one cell; these sentences say *what to do* about a
whole group of cells broken the same way. They are written for a non-specialist: no "regex", no
"Luhn", no "Table Schema" — the spreadsheet vocabulary instead (colonne, cellule, ligne).
"""

from __future__ import annotations

import re

# Validator messages end with « (valeurs admises : a, b, c) » for enum errors (quality/validate/).
_ALLOWED = re.compile(r"valeurs admises\s*:\s*(?P<values>.+?)\)\s*\.?\s*$")
# « … maximum autorisé (100). » / « … minimum autorisé (0). » / « au plus 250 caractères »
_NUMBER_IN_PARENS = re.compile(r"\((?:au (?:plus|moins) )?(?P<n>-?[0-9][0-9 .,]*)")

_FIXES: dict[str, str] = {
    "french-siret-value": (
        "Le numéro SIRET doit compter 14 chiffres et exister : recopiez-le depuis l'avis de situation "
        "SIRENE ou annuaire-entreprises.data.gouv.fr (une faute de frappe d'un seul chiffre suffit à le "
        "rendre invalide), sans espace ni point."
    ),
    "french-siren-value": (
        "Le numéro SIREN doit compter 9 chiffres et exister : recopiez-le depuis "
        "annuaire-entreprises.data.gouv.fr, sans espace ni point."
    ),
    "pattern": (
        "La valeur n'a pas la forme attendue (nombre de chiffres, lettres, tirets) : comparez-la à la "
        "forme indiquée dans le message et corrigez la cellule, sans espace superflu."
    ),
    "required": (
        "Cette colonne est obligatoire : remplissez chaque cellule vide ; si l'information n'existe "
        "vraiment pas, demandez à l'équipe données de la Métropole quelle valeur indiquer."
    ),
    "type": (
        "La cellule ne contient pas le bon type de valeur : un nombre sans texte ni unité, une date "
        "réelle, etc. Corrigez-la selon le message ; une formule ou un texte « voir ci-dessus » ne "
        "sont pas acceptés."
    ),
    "format": (
        "La valeur n'est pas écrite au format attendu (adresse électronique, adresse web complète, "
        "date…) : corrigez-la selon le message."
    ),
    "date": (
        "La date est illisible ou n'existe pas (un 31 avril, un mois 13…) : écrivez-la sous la forme "
        "JJ/MM/AAAA ou AAAA-MM-JJ et vérifiez qu'elle existe au calendrier."
    ),
    "minimum": "La valeur est trop petite : vérifiez-la (signe, unité, zéro oublié){limit}.",
    "maximum": "La valeur est trop grande : vérifiez-la (unité, zéro en trop, virgule mal placée){limit}.",
    "exclusiveMinimum": "La valeur doit être strictement supérieure à la limite{limit} : vérifiez-la.",
    "exclusiveMaximum": "La valeur doit être strictement inférieure à la limite{limit} : vérifiez-la.",
    "minLength": "Le texte est trop court{limit} : complétez la cellule.",
    "maxLength": "Le texte est trop long{limit} : raccourcissez la cellule ou déplacez le détail ailleurs.",
    "one-of-required": (
        "Au moins une des deux colonnes citées doit être remplie sur chaque ligne : complétez l'une "
        "ou l'autre."
    ),
    "unique": (
        "Cette colonne sert d'identifiant : chaque valeur ne doit apparaître qu'une fois. Supprimez "
        "les lignes en double ou corrigez l'identifiant de l'une d'elles."
    ),
    "primary-key": (
        "L'identifiant de la ligne (clé) est vide ou en double : chaque ligne doit avoir un "
        "identifiant unique. Supprimez les doublons ou corrigez l'identifiant."
    ),
    "unique-key": (
        "La combinaison de colonnes citée doit être unique : supprimez les lignes en double ou "
        "corrigez l'une d'elles."
    ),
    "french-gps-coordinates": (
        "Les coordonnées ne tombent pas en France : vérifiez que la longitude (environ 0,7 à Tours) "
        "et la latitude (environ 47,4) ne sont pas inversées et utilisent une virgule ou un point "
        "décimal, pas les deux."
    ),
    "outside-france": (
        "Le point est placé hors de France : vérifiez que longitude et latitude ne sont pas inversées "
        "et que le système de coordonnées est bien indiqué."
    ),
    "year-interval-value": "L'année doit être comprise dans l'intervalle indiqué : vérifiez la cellule.",
    "cohesive-columns-value": (
        "Les colonnes citées vont ensemble : remplissez-les toutes sur la ligne, ou laissez-les toutes vides."
    ),
    "compare-columns-value": (
        "Deux colonnes de la ligne se contredisent (par exemple une date de fin avant la date de "
        "début) : corrigez l'une des deux."
    ),
    "sum-columns-value": (
        "Le total ne correspond pas à la somme des colonnes citées : corrigez le total ou l'un des montants."
    ),
    "opening-hours-value": (
        "Les horaires doivent être écrits au format OpenStreetMap, par exemple « Mo-Fr 08:30-12:00 »."
    ),
    "phone-number-value": (
        "Le numéro de téléphone doit être un numéro français valide, par exemple 02 47 00 00 00."
    ),
    "nomenclature-actes-value": (
        "La nature de l'acte doit être une des catégories de la nomenclature des actes : choisissez "
        "l'intitulé exact dans la liste."
    ),
}

# Short French names of the rules, for headings (« Colonne « montant » : valeur trop grande »).
RULE_LABELS_FR: dict[str, str] = {
    "required": "valeur obligatoire manquante",
    "type": "type de valeur incorrect",
    "format": "format incorrect",
    "pattern": "forme de la valeur incorrecte",
    "enum": "valeur hors de la liste autorisée",
    "minimum": "valeur trop petite",
    "maximum": "valeur trop grande",
    "exclusiveMinimum": "valeur trop petite",
    "exclusiveMaximum": "valeur trop grande",
    "minLength": "texte trop court",
    "maxLength": "texte trop long",
    "unique": "valeur en double",
    "primary-key": "identifiant vide ou en double",
    "unique-key": "combinaison en double",
    "unique-keys": "combinaison en double",
    "missing-required-column": "colonne obligatoire absente",
    "missing-column": "colonne facultative absente",
    "extra-column": "colonne inconnue du schéma",
    "duplicate-column": "colonne en double",
    "column-order": "colonnes dans un autre ordre",
    "french-siret-value": "numéro SIRET invalide",
    "french-siren-value": "numéro SIREN invalide",
    "french-gps-coordinates": "coordonnées hors de France",
    "outside-france": "point hors de France",
    "one-of-required": "une des deux colonnes doit être remplie",
    "cohesive-columns-value": "colonnes à remplir ensemble",
    "compare-columns-value": "colonnes incohérentes entre elles",
    "sum-columns-value": "total incohérent",
    "year-interval-value": "année hors de l'intervalle",
    "opening-hours-value": "horaires mal écrits",
    "phone-number-value": "numéro de téléphone invalide",
    "nomenclature-actes-value": "nature d'acte inconnue",
    "reference": "référence à une ligne qui n'existe pas",
}


def rule_label(rule: str) -> str:
    """The rule's short French name; an unknown rule gets a generic one (codes never reach an agent:
    the JSON report and the data-rule attribute keep the code for searching)."""
    return RULE_LABELS_FR.get(rule, "règle du schéma non respectée")


_GENERIC = (
    "La valeur ne respecte pas une règle du schéma : lisez le message de chaque ligne, corrigez la "
    "cellule puis déposez à nouveau le fichier."
)


def fix_for(rule: str, message: str = "") -> str:
    """The sentence telling how to fix cells that break ``rule``; ``message`` is one validator message
    of the group, read for details the rule alone does not carry (the allowed values, the limit)."""
    if rule == "enum":
        found = _ALLOWED.search(message or "")
        if found:
            values = found["values"].strip()
            return (
                f"Choisissez une valeur de la liste autorisée, écrite exactement ainsi : {values}. "
                "Une liste déroulante dans le tableur évite les fautes de frappe."
            )
        return "Choisissez une valeur de la liste autorisée par le schéma, écrite exactement ainsi."
    if rule in ("type", "format") and "date" in (message or ""):
        rule = "date"
    template = _FIXES.get(rule)
    if template is None:
        return _GENERIC
    if "{limit}" in template:
        # The last match: the value quoted earlier in the message may itself hold « (1) ».
        found = list(_NUMBER_IN_PARENS.finditer(message or ""))
        limit = f" (limite : {found[-1]['n'].strip()})" if found else ""
        return template.format(limit=limit)
    return template


# Why a file was refused as a whole (assets/read/staged.py RefusedFile.reason), and what to do about it.
_REFUSALS: dict[str, str] = {
    "missing-required-columns": "Ajoutez les colonnes obligatoires listées ci-dessous, ou donnez à la "
    "colonne de votre fichier qui contient cette information le nom du champ (la colonne la plus proche "
    "est indiquée quand il y en a une), puis déposez à nouveau le fichier.",
    "empty": "Le fichier est vide : exportez à nouveau le tableau depuis votre logiciel.",
    "binary": (
        "Le fichier n'est pas un tableau (image, PDF, document texte…) : déposez un export CSV, "
        "Excel (.xlsx) ou OpenDocument (.ods)."
    ),
    "undecodable": (
        "Les caractères du fichier sont illisibles : dans votre tableur, enregistrez-le au format "
        "« CSV UTF-8 » ou en .xlsx."
    ),
    "header-only": "Le fichier ne contient que la ligne de titres : ajoutez les lignes de données.",
    "too-large": "Le fichier dépasse la taille acceptée : découpez-le ou contactez l'équipe données.",
    "zip-bomb": "L'archive est anormale (trop compressée) : déposez les fichiers sans les compresser.",
    "xml-bomb": "Le fichier contient une structure anormale : exportez-le à nouveau depuis votre tableur.",
    "too-many-columns": (
        "Le fichier a beaucoup trop de colonnes : vérifiez le séparateur ou supprimez les colonnes "
        "vides à droite du tableau."
    ),
    "line-too-long": (
        "Une ligne du fichier est anormalement longue : vérifiez qu'un guillemet n'est pas resté "
        "ouvert dans une cellule."
    ),
    "unsupported-format": (
        "Ce format n'est pas lu : déposez un fichier CSV, XLSX, ODS, GeoJSON ou Shapefile zippé."
    ),
}


# The same reasons in a few words, for a table cell (`territoire run`, the scoreboard).
_REFUSALS_SHORT: dict[str, str] = {
    "empty": "fichier vide",
    "missing": "fichier introuvable",
    "binary": "pas un tableau",
    "corrupt": "fichier endommagé",
    "undecodable": "caractères illisibles",
    "header-only": "titres sans données",
    "too-large": "fichier trop gros",
    "zip-bomb": "archive anormale",
    "xml-bomb": "structure anormale",
    "too-many-columns": "trop de colonnes",
    "line-too-long": "ligne anormalement longue",
    "unsupported-format": "format non lu",
    "sheet-not-found": "feuille introuvable",
}


def refusal_phrase(reason: str | None) -> str:
    """Why a file was refused, in a short phrase (« pas un tableau »); generic when the code is unknown."""
    return _REFUSALS_SHORT.get(reason or "", "fichier illisible")


def refusal_fix(reason: str | None) -> str:
    """What to do with a refused file, given its reason code (generic when the code is unknown)."""
    return _REFUSALS.get(
        reason or "",
        "Exportez à nouveau le tableau depuis votre tableur (CSV UTF-8 ou XLSX) et déposez-le ; si le "
        "problème persiste, contactez l'équipe données de la Métropole.",
    )

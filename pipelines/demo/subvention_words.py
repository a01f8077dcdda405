"""Word lists the demo draws subventions' beneficiaries, purposes and amounts from."""

from __future__ import annotations

# --- word lists for beneficiaries and purposes ---------------------------------------------------------
# fmt: off
SPORTS = [
    "Football", "Basket", "Handball", "Tennis", "Tennis de table", "Judo", "Karaté", "Rugby", "Natation",
    "Gymnastique", "Cyclisme", "Athlétisme", "Badminton", "Volley-ball", "Escrime", "Aviron",
    "Canoë-kayak", "Pétanque", "Randonnée", "Tir à l’arc", "Twirling", "Roller", "Escalade", "Boxe",
    "Yoga",
]
PLACES = [
    "du Centre", "des Bords de Loire", "du Val du Cher", "du Plateau", "du Bourg", "de la Gare",
    "des Rives", "des Coteaux", "de la Prairie", "du Vieux Bourg", "du Château", "du Moulin",
    "de la Vallée", "du Quartier Nord", "du Quartier Sud",
]
TOURS_QUARTIERS = [
    "du Sanitas", "de Rabelais", "des Fontaines", "des Rives du Cher", "de Saint-Symphorien",
    "de Sainte-Radegonde", "de Beaujardin", "de Velpeau", "de Blanqui", "des Prébendes", "de Monconseil",
    "de l’Europe", "de Febvotte", "de Paul Bert", "de Lakanal", "de la Bergeonnerie", "des Deux-Lions",
    "de Rochepinard", "de Saint-Paul", "de Giraudeau", "de la Cathédrale", "du Colombier",
]
CULTURE = [
    "Union musicale", "Harmonie", "Chorale", "Ensemble vocal", "Compagnie théâtrale",
    "Atelier d’arts plastiques", "Cercle photographique", "Ciné-club", "Bibliothèque associative",
    "Société d’histoire", "École de musique", "Compagnie de danse", "Les Amis du patrimoine", "Festival",
    "Association culturelle",
]
SOCIAL = [
    "Secours populaire – comité", "Restos du cœur – antenne", "Amicale des retraités",
    "Club de l’âge d’or", "Centre social", "Épicerie solidaire", "Association d’aide à domicile",
    "Œuvre des jardins familiaux", "Maison des jeunes et de la culture", "Comité des fêtes",
    "Amicale laïque", "Association des familles",
]
SCHOOLS = [
    "Jules Ferry", "Jean Moulin", "Paul Bert", "Marie Curie", "Jean Jaurès", "Victor Hugo", "Pasteur",
    "Louise Michel", "Jacques Prévert", "Anatole France", "Rabelais", "Ronsard",
]
FESTIVALS = [
    "Les Nuits du Cher", "Jazz en Touraine", "Les Contes de la Loire", "Rock’n Val", "Fête de la musique",
    "Les Arts en balade", "Marché de Noël", "Salon du livre jeunesse", "Ciné plein air",
]
OBJETS = {
    "sport": [
        "Subvention de fonctionnement {year}", "Organisation du tournoi annuel",
        "Aide aux déplacements en compétition", "Achat de matériel sportif",
        "Soutien à l’école de {sport_lower}", "Organisation du championnat départemental",
    ],
    "culture": [
        "Subvention de fonctionnement {year}", "Organisation du festival « {festival} »",
        "Saison culturelle {year}", "Résidence d’artistes", "Concert de fin d’année",
        "Exposition annuelle",
    ],
    "social": [
        "Subvention de fonctionnement {year}", "Aide alimentaire", "Accompagnement des familles",
        "Sorties et animations pour les aînés", "Fête de quartier", "Soutien à l’emploi associatif",
    ],
    "ecole": [
        "Classe découverte {year}", "Projet éducatif {year}", "Sortie scolaire", "Kermesse de fin d’année",
    ],
    "public": [
        "Subvention d’équilibre {year}", "Dotation de fonctionnement {year}",
    ],
}


# fmt: on
# Median amount (EUR) and spread by kind, for a commune of ~10,000 inhabitants.
AMOUNTS = {"sport": (1500, 0.9), "culture": (1800, 1.0), "social": (2200, 0.9), "ecole": (600, 0.6)}

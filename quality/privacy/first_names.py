"""Common French first names: what makes a beneficiary's name, or an e-mail's local part, a person's.

INSEE's most given first names, ASCII-folded: no library provides one, and the whole INSEE file
(~35,000 names, many also common words) would flag far more association names than it would catch
persons.
"""

from __future__ import annotations

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

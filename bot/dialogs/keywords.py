"""Words that work at every step, in every shipped language (compared after :func:`fold`).

Twilio's own opt-out words count as STOP, so no prompt may ask a patient to reply CANCEL.
"""

from __future__ import annotations

STOP = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out",
     "parar", "baja", "arret", "arreter", "arretez", "desabonner"}
)
START = frozenset({"start", "unstop", "iniciar", "empezar", "commencer", "demarrer"})
OPT_IN_WHEN_STOPPED = frozenset({"yes", "si", "oui"})
MENU = frozenset({"menu", "main menu", "menu principal", "inicio", "accueil"})
BACK = frozenset(
    {"back", "go back", "atras", "volver", "regresar", "retour", "precedent", "revenir"}
)
HELP = frozenset({"help", "info", "ayuda", "aide"})

# Answers that pick an option by what it does, in every shipped language (English always too):
# a word or phrase alone, or several words of one role ("yes ok"). See matching.match_role.
YES = frozenset(
    {"yes", "y", "yeah", "yep", "ok", "okay", "sure", "confirm", "confirmed", "correct",
     "si", "vale", "claro", "confirmar", "confirmo", "correcto", "de acuerdo",
     "oui", "ouais", "d accord", "daccord", "confirmer", "je confirme", "exact", "bien sur"}
)
NO = frozenset({"no", "n", "nope", "no gracias", "non", "non merci", "pas du tout"})
MORE = frozenset(
    {"more", "next", "show more", "mas", "siguiente", "ver mas", "plus", "suivant", "voir plus",
     "la suite", "encore"}
)

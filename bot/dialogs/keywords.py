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
BACK = frozenset({"back", "atras", "volver", "retour", "precedent"})
HELP = frozenset({"help", "info", "ayuda", "aide"})

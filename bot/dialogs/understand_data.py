"""Reading a request about the patient's own data: a copy of it, or to be forgotten (issue 21).

:func:`data_intent` reads the text as :func:`bot.dialogs.matching.fold` writes it (lower case,
no accents or punctuation) in en/es/fr: "send me my data", "quiero una copia de mis datos",
"je veux mes données", "send me Leo's data" ask for a copy (``my_data``); "delete my data",
"forget me", "borren mis datos", "oubliez-moi" ask to be forgotten (``forget_me``). A word
that erases with a word for the data or the account also asks to be forgotten ("please remove
my account"). Only whole words and phrases count: a request about data is never guessed from
a typo.
"""

from __future__ import annotations

from typing import Literal

DataIntent = Literal["my_data", "forget_me"]

FORGET_PHRASES = (
    "forget me", "forget about me", "delete me", "erase me", "right to be forgotten",
    "olvidame", "olvidenme", "olvidate de mi", "olviden me", "derecho al olvido",
    "oubliez moi", "oublie moi", "oubliez nous", "droit a l oubli",
)
ERASE_WORDS = frozenset({
    "delete", "erase", "remove", "wipe", "forget", "borrar", "borra", "borren", "borrad",
    "eliminar", "elimina", "eliminen", "suprimir", "supriman", "olvidar", "supprimer",
    "supprimez", "supprime", "effacer", "effacez", "efface", "oublier", "oubliez",
})
DATA_WORDS = frozenset({
    "data", "information", "info", "details", "account", "profile", "records", "datos",
    "informacion", "cuenta", "perfil", "expediente", "donnees", "informations", "compte",
    "profil", "dossier", "coordonnees",
})
COPY_PHRASES = (
    "my data", "my personal data", "my information", "my personal information", "my info",
    "my records", "data you hold", "data you have", "data do you", "information you hold",
    "information you have", "mis datos", "mi informacion", "datos que tienen",
    "datos tienen", "datos personales", "mes donnees", "mes informations",
    "donnees que vous", "donnees personnelles", "mon dossier",
)

# "send me Leo's data": a word for personal data with a word that asks for it.
DATA_NOUNS = frozenset({"data", "information", "datos", "informacion", "donnees",
                        "informations"})
ASK_WORDS = frozenset({
    "send", "copy", "get", "see", "want", "access", "export", "give", "download", "request",
    "copia", "enviar", "envien", "envie", "manden", "quiero", "ver", "acceso", "solicito",
    "copie", "envoyer", "envoyez", "voir", "acces", "veux", "voudrais", "demande",
})


def _says(folded: str, phrases: tuple[str, ...]) -> bool:
    text = f" {folded} "
    return any(f" {phrase} " in text for phrase in phrases)


def data_intent(folded: str) -> DataIntent | None:
    """What a request says about the patient's data (None: nothing)."""
    words = set(folded.split())
    if _says(folded, FORGET_PHRASES) or (words & ERASE_WORDS and words & DATA_WORDS):
        return "forget_me"
    if _says(folded, COPY_PHRASES) or (words & DATA_NOUNS and words & ASK_WORDS):
        return "my_data"
    return None

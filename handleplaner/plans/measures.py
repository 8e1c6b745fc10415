"""The kinds of measure (indsats) a fælles handleplan is made of, and who usually owns each.

From the source documents (seed 003 §6 and §7.3) and the measures seen in Danish municipalities
(docs: domain.md). The owner is a proposal: the plan names one authority per measure, and a
measure two authorities share (e.g. home visits by the police and SOF) is two measures.
"""
from __future__ import annotations

# Authorities that can own a measure (the codes of the organisation file).
AUTHORITIES: tuple[str, ...] = ("BUF", "SOF", "KFF", "BIF", "POL", "SSP", "KRIM")

# Measure type code -> Danish label.
MEASURE_TYPES: dict[str, str] = {
    "opsoegende": "Opsøgende arbejde / gadeplan",
    "gruppescreening": "Screening af grupper",
    "hjemmebesoeg": "Hjemmebesøg",
    "synlig-patruljering": "Synlig patruljering",
    "ekstra-aktiviteter": "Ekstraordinære målgruppeaktiviteter",
    "foraeldresamtaler": "Forældresamtaler",
    "bekymringsbreve": "Bekymringsbreve / breve til forældre",
    "tryghedsvandring": "Tryghedsvandring med boligsociale partnere",
    "krisehjaelp": "Krisehjælp og psykologbistand",
    "aabningstider": "Udvidede åbningstider i klubber",
    "natteravne": "Natteravne og frivillige",
    "institutionsdrift": "Normaldrift i institutioner og personalets sikkerhed",
    "visitationszone": "Visitationszone",
    "koordinering": "Koordinering med beredskabet",
    "andet": "Andet",
}

# Measure type -> the authority that usually owns it.
USUAL_OWNER: dict[str, str] = {
    "opsoegende": "SOF",          # gadeplansarbejde (SOF's gadeteams; BUF's opsøgende i lokalområdet)
    "gruppescreening": "SSP",     # koordineres af SSP Sekretariatet med koordinationsgrupperne (§115)
    "hjemmebesoeg": "POL",        # politiet, ofte sammen med SOF (så to indsatser)
    "synlig-patruljering": "POL",
    "ekstra-aktiviteter": "KFF",  # biblioteker, kulturhuse, idrætsanlæg
    "foraeldresamtaler": "BUF",   # skoler og fritidscentre
    "bekymringsbreve": "POL",     # politiets bekymringsbreve, med SOF
    "tryghedsvandring": "SSP",    # med boligsociale helhedsplaner
    "krisehjaelp": "BUF",         # Pædagogisk Psykologisk Rådgivning
    "aabningstider": "BUF",       # fritidscentre og klubber
    "natteravne": "KFF",          # Natteværter, Aftenværter og civilsamfundets frivillige
    "institutionsdrift": "BUF",   # institutionslederne
    "visitationszone": "POL",
    "koordinering": "SSP",        # med Hovedstadens Beredskab og andre eksterne parter
    "andet": "SSP",
}

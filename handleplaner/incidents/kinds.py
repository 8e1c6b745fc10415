"""What can be chosen when beredskab is activated: incident types, severities, limits."""
from __future__ import annotations

# Incident types named by SSP København as triggers (domain.md); code -> Danish label.
INCIDENT_TYPES: dict[str, str] = {
    "konflikt": "Konflikt mellem grupper af unge",
    "skyderi": "Skyderi eller knivstikkeri",
    "brand": "Brandstiftelse eller hærværk",
    "drab": "Drab eller drabsforsøg",
    "uro": "Uro i et boligområde eller nabolag",
    "institution": "Uro ved eller i en institution",
    "andet": "Anden hændelse",
}

# A planned event (last school day, New Year's Eve ...) prepared with a beredskabsplan; not activated.
PLANNED_TYPE = "planlagt"
TYPE_LABELS: dict[str, str] = {**INCIDENT_TYPES, PLANNED_TYPE: "Planlagt begivenhed"}

# Severity, lowest first (the C3 levels used for alerts as well).
SEVERITIES: dict[str, str] = {
    "orientering": "Orientering",
    "varsling": "Varsling",
    "akut": "Akut",
}

TITLE_MAX = 120
DESCRIPTION_MAX = 4000

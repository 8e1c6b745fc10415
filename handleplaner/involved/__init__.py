"""The people an incident concerns, as their own data class (see ``models``)."""
from .models import RETENTION_MONTHS, ROLES, InvolvedPerson
from .service import (InvolvedInvalid, InvolvedRefused, as_json, listed, names_of,
                      parse_involved, register, remove)

__all__ = ["RETENTION_MONTHS", "ROLES", "InvolvedPerson", "InvolvedInvalid", "InvolvedRefused",
           "as_json", "listed", "names_of", "parse_involved", "register", "remove"]

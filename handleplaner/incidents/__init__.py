from .kinds import INCIDENT_TYPES, PLANNED_TYPE, SEVERITIES, TYPE_LABELS
from .models import Incident, IncidentArea
from .service import (CLOSED, Activation, ActivationInvalid, NotAllowed, activate,
                      close_incident, get_incident, incident_areas, list_incidents, lock_incident,
                      parse_activation)

__all__ = ["INCIDENT_TYPES", "PLANNED_TYPE", "TYPE_LABELS", "SEVERITIES", "Incident", "IncidentArea", "Activation",
           "ActivationInvalid", "NotAllowed", "activate", "CLOSED", "close_incident", "get_incident", "incident_areas",
           "list_incidents", "lock_incident", "parse_activation"]

"""An incident as a case file: the sagsakt for journalisering and the copy for aktindsigt.

``export_casefile`` builds a ZIP in memory for one incident and records the export
(``sag.eksporteret``) in the incident record; ``build_casefile`` only builds it. The zip holds
``sagsakt.json`` (the incident, its areas, state and reference, and a manifest of every other
file with its SHA-256), ``README.txt``, the record as ``haendelseslog.jsonl`` with the check of its
hash chain, the plan (each sent version as PDF, HTML and JSON, rendered from the frozen snapshot;
decisions, extensions, evaluations), the beredskabsmøder (invitees, answers, beslutningsreferat),
the commitments with their history, and the parts other layers hand in (``Part``: the alerts and
their deliveries come from ``notifications.casefile``, since the domain does not import it).

journaliseringspligt (offentlighedslovens § 15): the sagsakt is complete and holds personal data
(retsplejelovens § 115); it is for the municipal document system, never for handing out.

aktindsigt: the copy for a citizen's access request removes third parties' personal data. Whose
data a field holds (the requester's own, or a third party's) cannot be known automatically, so the
rule removes too much rather than too little, and the caseworker releases more by hand from the
sagsakt after a concrete assessment:

1. Every field marked as personal data (``info=PERSONAL``, ``handleplaner.personal_data``) is
   replaced whole by ``[fjernet: personoplysninger]``: in the rows, and in each plan version's
   frozen copies of such fields (``redaction.SNAPSHOT_MARKED``); the plan documents are rendered
   from that redacted snapshot, as ``documents.sikkerby_version`` does for Team Sikker By.
2. Copies of a marked value in any other text (a record summary quoting a decision's comment or
   an extension's reason, a measure titled after a meeting decision) are replaced by
   ``[fjernet]``, also when only the beginning was copied (values of 8 characters or more).
3. CPR numbers are replaced by ``[fjernet]`` everywhere (``privacy.check``'s detection).
4. People: the authorities' staff (people in the directory) stay named where they act in
   office (who activated, decided, was invited, is responsible): their names are not exempt from
   aktindsigt, and the copy must show who did what (notatpligt). Except people marked
   confidential, who are removed everywhere (structured fields, ids and free text): the
   responsible person of a measure marked confidential (now or in a sent version, and the owner
   of its commitment) and names in a snapshot's ``confidential_people`` that are not a directory
   person (a citizen the secretariat has marked).
5. Before the copy is handed out, every file (the PDFs' text included) is checked with the same
   detector for CPR numbers and the protected people's names; if anything is left, the copy is
   refused (``PersonalDataLeft``) and the caseworker works from the sagsakt.
6. SHA-256 hashes stay as they are, so the copy's record entries can be matched with the
   original; the chain is checked on the full record at export.

The README says what was removed, by kind and count, never the removed values.
"""
from .package import (ACTION, AKTINDSIGT, SAGSAKT, VARIANTS, CaseFile, CaseFileProblem,
                      IncidentNotFound, Part, PersonalDataLeft, build_casefile, export_casefile,
                      find_incident)
from .redaction import KIND_LABELS, REMOVED, SNAPSHOT_MARKED

__all__ = ["ACTION", "AKTINDSIGT", "SAGSAKT", "VARIANTS", "CaseFile", "CaseFileProblem",
           "IncidentNotFound", "Part", "PersonalDataLeft", "build_casefile", "export_casefile",
           "find_incident",
           "KIND_LABELS", "REMOVED", "SNAPSHOT_MARKED"]

"""A frozen plan version as a document: printable HTML and PDF, in full or for Team Sikker By.

Both renderers read one prepared *document* (``_document``) built from the snapshot the plan
service froze, so the HTML and the PDF always say the same. The Team Sikker By variant is built
from ``sikkerby_version(snapshot)``: a filtered copy that keeps only what may leave the SSP
authorities (§115 of the Administration of Justice Act; domain.md, "Law as product duties").
``handleplaner.privacy.sharing.check_sikkerby`` checks that copy and what it renders to.

Times are shown in Copenhagen time as '23.11.2026 kl. 21:14'. The wording lives in
``templates/plans/document.html.j2`` so the secretariat can change it; the PDF (fpdf2, with the
PDF standard font Helvetica in WinAnsi encoding, which covers æ, ø and å) follows the same order.
"""
from __future__ import annotations

import copy
import unicodedata
from datetime import datetime
from pathlib import Path

from fpdf import FPDF, FontFace
from jinja2 import (Environment, FileSystemLoader, StrictUndefined, TemplateError,
                    TemplateSyntaxError, select_autoescape)

from beredskab_templates import folder as templates_folder
from handleplaner.clock import dansk, local

TEMPLATES = templates_folder()
TEMPLATE = "plans/document.html.j2"

FULD = "fuld"
SIKKERBY = "sikkerby"
VARIANTS = (FULD, SIKKERBY)

SIKKERBY_HEADER = "Version til Team Sikker By – uden personoplysninger"
CONFIDENTIAL_MARKING = "§115 – fortroligt"
EXERCISE_BANNER = "ØVELSE – dette er ikke en rigtig hændelse"

# Communication items that may appear in the Team Sikker By version; anything else (fortrolig,
# or a value we do not know) stays out.
SHAREABLE_COMMUNICATION = ("intern", "offentlig")

CONFIDENTIALITY_LABELS = {"fortrolig": "Fortrolig", "intern": "Intern", "offentlig": "Offentlig"}
DECISION_LABELS = {"godkend": "Godkendt", "afvis": "Afvist", "kommentar": "Kommentar"}


class DocumentProblem(Exception):
    """The plan document cannot be made; the message says why (template file and line)."""


# --- the Team Sikker By copy -------------------------------------------------------------------

_SIKKERBY_TOP = ("plan_id", "version", "kind", "kind_label", "title", "template", "purpose",
                 "background", "frozen_at")
_SIKKERBY_INCIDENT = ("reference", "type", "type_label", "severity", "severity_label", "areas",
                      "whole_city", "occurred_at", "exercise", "confidential")
_SIKKERBY_MEASURE = ("key", "title", "description", "measure_type", "measure_label", "authority",
                     "authority_name", "starts_at", "ends_at", "status", "status_label")
_SIKKERBY_COMMUNICATION = ("audience", "what", "when", "confidentiality")
_SIKKERBY_APPROVAL = ("state", "state_label", "rule", "rule_label")


def _pick(source: dict | None, keys: tuple[str, ...]) -> dict:
    source = source or {}
    return {key: copy.deepcopy(source[key]) for key in keys if key in source}


def sikkerby_version(snapshot: dict) -> dict:
    """The snapshot as Team Sikker By may see it.

    Built by keeping named fields only (a field added to snapshots later stays out until it is
    named here): no responsible persons, no notes, no confidential measures, no background of a
    confidential incident, never the incident's description (the free text where
    names are written at night), only communication marked intern or offentlig, the
    approval state without decisions, extensions without who decided them, no ``frozen_by`` and
    no list of confidential people.
    """
    incident = _pick(snapshot.get("incident"), _SIKKERBY_INCIDENT)
    confidential = bool(incident.get("confidential"))
    result = _pick(snapshot, _SIKKERBY_TOP)
    result["variant"] = SIKKERBY
    result["frozen_by"] = ""
    incident["description"] = ""
    if confidential:
        result["background"] = ""
    result["incident"] = incident

    period = _pick(snapshot.get("period"), ("start", "end"))
    period["extended"] = [_pick(item, ("reason", "new_end", "at"))
                          for item in (snapshot.get("period") or {}).get("extended") or []]
    result["period"] = period

    measures = []
    for measure in snapshot.get("measures") or []:
        if measure.get("confidential"):
            continue
        public = _pick(measure, _SIKKERBY_MEASURE)
        public.update(responsible=None, notes="", confidential=False)
        measures.append(public)
    result["measures"] = measures

    result["communication"] = [
        _pick(item, _SIKKERBY_COMMUNICATION) for item in snapshot.get("communication") or []
        if str(item.get("confidentiality", "")).strip().lower() in SHAREABLE_COMMUNICATION]
    evaluation = snapshot.get("evaluation")
    result["evaluation"] = _pick(evaluation, ("at", "text")) if evaluation else None
    approval = _pick(snapshot.get("approval"), _SIKKERBY_APPROVAL)
    approval["decisions"] = []
    result["approval"] = approval
    return result


# --- the prepared document ---------------------------------------------------------------------

def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def tid(value) -> str:
    """'23.11.2026 kl. 21:14' in Copenhagen time for an ISO time; other text as it is."""
    moment = _moment(value)
    if moment is not None:
        return dansk(moment)  # a naive time is read as UTC, like every stored timestamp
    return "" if value is None else str(value).strip()


def _span(start, end) -> str:
    start_text, end_text = tid(start), tid(end)
    if start_text and end_text:
        return f"{start_text} – {end_text}"
    if start_text:
        return f"fra {start_text}"
    if end_text:
        return f"til {end_text}"
    return ""


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"Ukendt variant {variant!r}; vælg 'fuld' eller 'sikkerby'.")


def _document(snapshot: dict, variant: str) -> dict:
    """Everything the document shows, as display strings, in the order it is shown."""
    _check_variant(variant)
    sikkerby = variant == SIKKERBY
    if sikkerby:
        snapshot = sikkerby_version(snapshot)
    incident = snapshot.get("incident") or {}
    confidential = bool(incident.get("confidential"))
    kind_label = _text(snapshot.get("kind_label")) or _text(snapshot.get("kind")).capitalize()
    version = snapshot.get("version", "")
    reference = _text(incident.get("reference"))
    areas = incident.get("areas") or []
    area_text = "Hele byen" if incident.get("whole_city") else ", ".join(str(a) for a in areas)

    facts = [
        ("Hændelse", _text(incident.get("type_label")) or _text(incident.get("type"))),
        ("Alvor", _text(incident.get("severity_label")) or _text(incident.get("severity"))),
        ("Område", area_text),
        ("Sket", tid(incident.get("occurred_at"))),
        ("Reference", reference),
        ("Plan", f"Nr. {snapshot.get('plan_id', '')}, version {version}"),
    ]

    period = snapshot.get("period") or {}
    extensions = []
    for item in period.get("extended") or []:
        extensions.append({
            "new_end": tid(item.get("new_end")),
            "reason": _text(item.get("reason")),
            "by": "" if sikkerby else _text(item.get("by")),
            "at": tid(item.get("at")),
        })
    current_end = period.get("end")
    if extensions and (period.get("extended") or [])[-1].get("new_end"):
        current_end = period["extended"][-1]["new_end"]

    groups: list[dict] = []
    by_authority: dict[str, dict] = {}
    for measure in snapshot.get("measures") or []:
        code = _text(measure.get("authority"))
        group = by_authority.get(code)
        if group is None:
            name = _text(measure.get("authority_name")) or code or "Uden myndighed"
            group = {"authority": code, "authority_name": name, "measures": []}
            by_authority[code] = group
            groups.append(group)
        responsible = measure.get("responsible") if not sikkerby else None
        responsible_text = ""
        if responsible:
            responsible_text = ", ".join(part for part in (_text(responsible.get("name")),
                                                           _text(responsible.get("title"))) if part)
        group["measures"].append({
            "title": _text(measure.get("title")),
            "description": _text(measure.get("description")),
            "type": _text(measure.get("measure_label")) or _text(measure.get("measure_type")),
            "responsible": responsible_text,
            "span": _span(measure.get("starts_at"), measure.get("ends_at")),
            "status": _text(measure.get("status_label")) or _text(measure.get("status")),
            "notes": "" if sikkerby else _text(measure.get("notes")),
            "confidential": bool(measure.get("confidential")) and not sikkerby,
        })

    communication = []
    for item in snapshot.get("communication") or []:
        level = _text(item.get("confidentiality")).lower()
        communication.append({
            "audience": _text(item.get("audience")),
            "what": _text(item.get("what")),
            "when": tid(item.get("when")),
            "confidentiality": CONFIDENTIALITY_LABELS.get(level, level.capitalize()),
        })

    evaluation = snapshot.get("evaluation") or {}
    approval = snapshot.get("approval") or {}
    decisions = []
    if not sikkerby:
        for item in approval.get("decisions") or []:
            decision = _text(item.get("decision"))
            decisions.append({
                "person": _text(item.get("person")),
                "decision": DECISION_LABELS.get(decision, decision.capitalize()),
                "comment": _text(item.get("comment")),
                "at": tid(item.get("at")),
            })

    frozen_by = "" if sikkerby else _text(snapshot.get("frozen_by"))
    footer = f"Version {version}, frosset {tid(snapshot.get('frozen_at'))}"
    if frozen_by:
        footer += f" af {frozen_by}"

    title = _text(snapshot.get("title"))
    return {
        "variant": variant,
        "sikkerby": sikkerby,
        "sikkerby_header": SIKKERBY_HEADER if sikkerby else "",
        "exercise": bool(incident.get("exercise")),
        "exercise_banner": EXERCISE_BANNER,
        "confidential": confidential,
        "confidential_marking": CONFIDENTIAL_MARKING if confidential and not sikkerby else "",
        "kind_label": kind_label,
        "title": title,
        "document_title": f"{kind_label}: {title}" if title else kind_label,
        "reference": reference,
        "version": version,
        "facts": facts,
        "description": _text(incident.get("description")),
        "confidential_omitted": sikkerby and confidential,
        "period": {
            "start": tid(period.get("start")),
            "end": tid(period.get("end")),
            "current_end": tid(current_end),
            "extensions": extensions,
        },
        "purpose": _text(snapshot.get("purpose")),
        "background": _text(snapshot.get("background")),
        "groups": groups,
        "communication": communication,
        "evaluation": {"at": tid(evaluation.get("at")), "text": _text(evaluation.get("text"))},
        "approval": {
            "state": _text(approval.get("state_label")) or _text(approval.get("state")),
            "rule": _text(approval.get("rule_label")) or _text(approval.get("rule")),
            "decisions": decisions,
        },
        "footer": footer,
    }


# --- HTML --------------------------------------------------------------------------------------

def environment(directory: Path = TEMPLATES) -> Environment:
    """The same conventions as notifications.rendering: autoescaped HTML, strict undefined."""
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dansk"] = dansk
    env.filters["tid"] = tid
    return env


_ENV = environment()


def render_plan_html(snapshot: dict, *, variant: str = FULD, env: Environment | None = None) -> str:
    """The plan version as a printable A4 HTML document in Danish."""
    document = _document(snapshot, variant)
    env = env or _ENV
    try:
        return env.get_template(TEMPLATE).render(d=document)
    except TemplateSyntaxError as error:
        raise DocumentProblem(f"{error.filename or TEMPLATE}, linje {error.lineno}: "
                              f"{error.message}") from error
    except TemplateError as error:
        raise DocumentProblem(f"{TEMPLATE}: {error}") from error


# --- PDF ---------------------------------------------------------------------------------------

# Characters outside Windows-1252 (what the standard PDF fonts can show) and what to show instead.
_PDF_REPLACEMENTS = {
    "\u2010": "-", "\u2011": "-", "\u2012": "–", "\u2015": "—", "\u2212": "-",
    "\u2192": "->", "\u2190": "<-", "\u2264": "<=", "\u2265": ">=", "\u2260": "!=",
    "\u2032": "'", "\u2033": '"', "\u2009": " ", "\u202f": " ", "\u200b": "",
    "\t": "    ", "\r": "",
}


def _pdf_text(value) -> str:
    """Text the standard fonts can show: Windows-1252 (æ, ø, å, §, –, €), the rest replaced."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    out = []
    for char in text:
        char = _PDF_REPLACEMENTS.get(char, char)
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:
            plain = "".join(c for c in unicodedata.normalize("NFKD", char)
                            if not unicodedata.combining(c))
            try:
                plain.encode("cp1252")
                char = plain or "?"
            except UnicodeEncodeError:
                char = "?"
        out.append(char)
    return "".join(out)


_INK = (27, 27, 27)
_GREY = (90, 90, 90)
_HEADING_FILL = (230, 235, 245)
_BLUE = (28, 63, 148)


class _PlanPDF(FPDF):
    def __init__(self, document: dict):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.document = document
        self.core_fonts_encoding = "windows-1252"
        self.set_margins(18, 20, 18)
        self.set_auto_page_break(auto=True, margin=20)
        self.alias_nb_pages()

    def header(self):
        d = self.document
        self.set_font("Helvetica", size=8)
        self.set_text_color(*_GREY)
        parts = [d["kind_label"], d["reference"], f"version {d['version']}"]
        if d["exercise"]:
            parts.insert(0, "ØVELSE")
        if d["confidential_marking"]:
            parts.append(d["confidential_marking"])
        if d["sikkerby"]:
            parts.append("Til Team Sikker By")
        self.cell(0, 5, _pdf_text(" · ".join(p for p in parts if p)), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*_GREY)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(4)
        self.set_text_color(*_INK)

    def footer(self):
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*_GREY)
        width = self.w - self.l_margin - self.r_margin
        self.cell(width * 0.8, 5, _pdf_text(self.document["footer"]))
        self.cell(width * 0.2, 5, f"Side {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(*_INK)

    # small building blocks
    def banner(self, text: str, fill: tuple[int, int, int], ink: tuple[int, int, int] = _INK):
        self.set_font("Helvetica", "B", 11)
        self.set_fill_color(*fill)
        self.set_text_color(*ink)
        self.multi_cell(0, 8, _pdf_text(text), fill=True, new_x="LMARGIN", new_y="NEXT",
                        padding=(1, 3))
        self.set_text_color(*_INK)
        self.ln(2)

    def heading(self, text: str, size: int = 12, room: float = 25):
        if self.will_page_break(room):
            self.add_page()
        self.ln(2)
        self.set_font("Helvetica", "B", size)
        self.set_text_color(*_BLUE)
        self.multi_cell(0, size * 0.5, _pdf_text(text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*_INK)
        self.ln(1)

    def paragraph(self, text: str, *, style: str = "", size: int = 10):
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, 5, _pdf_text(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def grid(self, headings: list[str], rows: list[list[str]], widths: tuple[float, ...]):
        self.set_font("Helvetica", size=8.5)
        self.set_draw_color(170, 170, 170)
        self.set_fill_color(255, 255, 255)
        with self.table(col_widths=widths, text_align="LEFT", line_height=4.2,
                        headings_style=FontFace(emphasis="BOLD", fill_color=_HEADING_FILL),
                        repeat_headings=1, padding=1.2) as table:
            row = table.row()
            for heading in headings:
                row.cell(_pdf_text(heading))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(_pdf_text(value))
        self.ln(2)


def render_plan_pdf(snapshot: dict, *, variant: str = FULD) -> bytes:
    """The same document as ``render_plan_html`` as an A4 PDF."""
    d = _document(snapshot, variant)
    pdf = _PlanPDF(d)
    pdf.set_title(_pdf_text(d["document_title"]))
    pdf.set_subject(_pdf_text(f"{d['reference']}, version {d['version']}"))
    pdf.set_author("SSP København")
    pdf.set_creator("SSP Beredskab")
    pdf.set_lang("da-DK")
    frozen = _moment(snapshot.get("frozen_at"))
    if frozen is not None:
        pdf.set_creation_date(local(frozen))
    pdf.add_page()

    if d["exercise"]:
        pdf.banner(d["exercise_banner"], (255, 244, 206))
    if d["sikkerby_header"]:
        pdf.banner(d["sikkerby_header"], (222, 238, 226))
    if d["confidential_marking"]:
        pdf.banner(d["confidential_marking"], (253, 231, 233), (164, 38, 44))

    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(*_GREY)
    pdf.cell(0, 5, _pdf_text(d["kind_label"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*_INK)
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, _pdf_text(d["title"] or d["kind_label"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, _pdf_text(f"Reference {d['reference']} · version {d['version']}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.heading("Hændelsen")
    pdf.set_font("Helvetica", size=10)
    for label, value in d["facts"]:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(32, 5.5, _pdf_text(label))
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 5.5, _pdf_text(value), new_x="LMARGIN", new_y="NEXT")
    if d["description"]:
        pdf.ln(1)
        pdf.paragraph(d["description"])
    if d["confidential_omitted"]:
        pdf.ln(1)
        pdf.paragraph("Hændelsen er fortrolig: beskrivelse og baggrund er udeladt i denne version.",
                      style="I")

    pdf.heading("Periode")
    period = d["period"]
    pdf.paragraph(f"Fra {period['start']} til {period['end']}.")
    for extension in period["extensions"]:
        line = f"Forlænget til {extension['new_end']}"
        if extension["reason"]:
            line += f": {extension['reason']}"
        who = ", ".join(p for p in (extension["by"], extension["at"]) if p)
        if who:
            line += f" ({who})"
        pdf.paragraph("• " + line)
    if period["extensions"]:
        pdf.paragraph(f"Gælder nu til {period['current_end']}.", style="B")

    if d["purpose"]:
        pdf.heading("Formål")
        pdf.paragraph(d["purpose"])
    if d["background"]:
        pdf.heading("Baggrund")
        pdf.paragraph(d["background"])

    pdf.heading("Indsatser")
    if not d["groups"]:
        pdf.paragraph("Ingen indsatser.", style="I")
    for group in d["groups"]:
        name = group["authority_name"]
        if group["authority"] and group["authority"] != name:
            name += f" ({group['authority']})"
        pdf.heading(name, size=11, room=40)  # the heading with at least one row under it
        rows = []
        for m in group["measures"]:
            title = m["title"] + (" (fortrolig)" if m["confidential"] else "")
            if m["description"]:
                title += f"\n{m['description']}"
            if d["sikkerby"]:
                rows.append([title, m["type"], m["span"], m["status"]])
            else:
                rows.append([title, m["type"], m["responsible"], m["span"], m["status"],
                             m["notes"]])
        if d["sikkerby"]:
            pdf.grid(["Indsats", "Type", "Tidsrum", "Status"], rows, (60, 40, 50, 24))
        else:
            pdf.grid(["Indsats", "Type", "Ansvarlig", "Tidsrum", "Status", "Noter"], rows,
                     (34, 29, 28, 30, 18, 35))

    pdf.heading("Kommunikation")
    if d["communication"]:
        pdf.grid(["Målgruppe", "Hvad", "Hvornår", "Fortrolighed"],
                 [[c["audience"], c["what"], c["when"], c["confidentiality"]]
                  for c in d["communication"]], (40, 70, 38, 26))
    else:
        pdf.paragraph("Ingen kommunikation planlagt.", style="I")

    if d["evaluation"]["at"] or d["evaluation"]["text"]:
        pdf.heading("Evaluering")
        if d["evaluation"]["at"]:
            pdf.paragraph(f"Evalueres {d['evaluation']['at']}.", style="B")
        if d["evaluation"]["text"]:
            pdf.paragraph(d["evaluation"]["text"])

    pdf.heading("Godkendelse")
    approval = d["approval"]
    pdf.paragraph(f"Status: {approval['state']}" +
                  (f" (regel: {approval['rule']})" if approval["rule"] else ""))
    if approval["decisions"]:
        pdf.grid(["Person", "Beslutning", "Kommentar", "Tidspunkt"],
                 [[x["person"], x["decision"], x["comment"], x["at"]]
                  for x in approval["decisions"]], (40, 26, 78, 30))

    return bytes(pdf.output())

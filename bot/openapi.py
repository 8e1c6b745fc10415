"""The API's OpenAPI 3.1 description; request schemas come from the pydantic models."""
from __future__ import annotations

from handleplaner.incidents.service import ActivationRequest

_ERROR = {"type": "object", "required": ["fejl"], "properties": {
    "fejl": {"type": "string"},
    "felter": {"type": "object", "additionalProperties": {"type": "string"}}}}

_INCIDENT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "reference": {"type": "string"},
    "incident_type": {"type": "string"}, "title": {"type": "string"},
    "description": {"type": "string"}, "severity": {"type": "string"},
    "occurred_at": {"type": "string", "format": "date-time"},
    "activated_at": {"type": "string", "format": "date-time"},
    "activated_by": {"type": "string"}, "exercise": {"type": "boolean"},
    "confidential": {"type": "boolean"}, "whole_city": {"type": "boolean"},
    "areas": {"type": "array", "items": {"type": "string"}}, "state": {"type": "string"}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    return {str(c): _json({"$ref": "#/components/schemas/Fejl"}, _REFUSALS[c]) for c in codes}


_REFUSALS = {400: "Ugyldig forespørgsel: ikke et JSON-objekt, eller for dybt indlejret",
             401: "Ikke logget ind", 403: "Ingen adgang", 404: "Findes ikke",
             409: "Konflikt", 413: "For stor", 422: "Felter med fejl"}


def complete_refusals(paths: dict, role_of) -> dict:
    """Add the refusals every operation gives by construction: 401 signed out; 400 for a state
    change whose body is not a JSON object or is nested too deeply; 413 and 422 where there is
    a body; 403 where the route's rule names a role (``role_of(path, method)``); 404 where the
    path names an object."""
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = {401}
            if method in ("post", "put", "patch", "delete"):
                codes.add(400)
            if "requestBody" in operation:
                codes |= {413, 422}
            if role_of(path, method):
                codes.add(403)
            if "{" in path:
                codes.add(404)
            responses = operation["responses"]
            for code in sorted(codes):
                responses.setdefault(str(code), _errors(code)[str(code)])
    return paths


def _incident_path(summary: str, schema: dict) -> dict:
    return {"get": {"summary": summary, "parameters": [
        {"name": "incident_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": _json(schema, "OK"), **_errors(401, 403, 404)}}}


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _alert_paths() -> dict:
    body = {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Varsel"}}}}
    return {
        "/api/incidents/{incident_id}/alerts/preview": {"post": {
            "summary": "Vis modtagerne før afsendelse (antal, pr. myndighed, uden kanal) og det, "
                       "der sendes (sends: teksten, og beskrivelsen kun hvis include_description)",
            "parameters": [_path_param("incident_id")], "requestBody": body,
            "responses": {"200": _json({"type": "object"}, "Modtagere"),
                          **_errors(400, 401, 403, 404, 413, 422)}}},
        "/api/incidents/{incident_id}/alerts": {
            "get": {"summary": "Varsler med fremdrift: sendt, fejlet, kvitteret, eskaleret",
                    "parameters": [_path_param("incident_id")],
                    "responses": {"200": _json({"type": "array", "items": {"type": "object"}}, "OK"),
                                  **_errors(401, 403, 404)}},
            "post": {"summary": "Send et varsel (samme varsel to gange inden for 2 min. flettes)",
                     "parameters": [_path_param("incident_id")], "requestBody": body,
                     "responses": {"201": _json({"type": "object"}, "Varsel accepteret"),
                                   "200": _json({"type": "object"}, "Samme varsel var allerede accepteret"),
                                   **_errors(400, 401, 403, 404, 413, 422)}}},
        "/api/alerts/{alert_id}/acknowledge": {"post": {
            "summary": "Kvittér for et varsel som den indloggede person",
            "parameters": [_path_param("alert_id")],
            "responses": {"200": _json({"type": "object"}, "Kvitteret"), **_errors(401, 403, 404)}}},
        "/api/deliveries/{delivery_id}/resend": {"post": {
            "summary": "Send en fejlet levering igen via en anden kanal",
            "parameters": [_path_param("delivery_id")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["channel"],
                "properties": {"channel": {"type": "string", "enum": ["teams", "email"]}}}}}},
            "responses": {"201": _json({"type": "object"}, "Levering i kø"),
                          **_errors(400, 401, 403, 404, 422)}}},
    }


def _plan_paths() -> dict:
    obj = {"type": "object"}
    body = lambda schema: {"required": True, "content": {"application/json": {"schema": schema}}}  # noqa: E731
    plan = [_path_param("plan_id")]
    return {
        "/api/plan-templates": {"get": {
            "summary": "Planskabeloner (filtrér med ?incident_type=)",
            "responses": {"200": _json({"type": "array", "items": obj}, "OK"), **_errors(401)}}},
        "/api/incidents/{incident_id}/plan": {
            "get": {"summary": "Hændelsens handleplan (udkast, indsatser, versioner)",
                    "parameters": [_path_param("incident_id")],
                    "responses": {"200": _json(obj, "OK"), **_errors(401, 403, 404)}},
            "post": {"summary": "Udarbejd handleplan fra en skabelon",
                     "parameters": [_path_param("incident_id")],
                     "requestBody": body({"type": "object", "required": ["template"], "properties": {
                         "template": {"type": "string"}, "period_days": {"type": "integer"}}}),
                     "responses": {"201": _json(obj, "Udkast"), **_errors(400, 401, 403, 404, 422)}}},
        "/api/plans/{plan_id}/measures": {"post": {
            "summary": "Tilføj indsats", "parameters": plan, "requestBody": body(obj),
            "responses": {"201": _json(obj, "Tilføjet"), **_errors(400, 401, 403, 404, 422)}}},
        "/api/plans/{plan_id}/measures/{key}": {
            "patch": {"summary": "Ret, omplanlæg eller overdrag en indsats",
                      "parameters": plan + [{"name": "key", "in": "path", "required": True,
                                             "schema": {"type": "string"}}],
                      "requestBody": body(obj),
                      "responses": {"200": _json(obj, "Rettet"), **_errors(400, 401, 403, 404, 422)}},
            "delete": {"summary": "Fjern en indsats",
                       "parameters": plan + [{"name": "key", "in": "path", "required": True,
                                              "schema": {"type": "string"}}],
                       "responses": {"200": _json(obj, "Fjernet"), **_errors(401, 403, 404, 422)}}},
        "/api/plans/{plan_id}/send": {"post": {
            "summary": "Frys en ny version og send den til styregruppen",
            "parameters": plan, "requestBody": body({"type": "object", "properties": {
                "rule": {"type": "string", "enum": ["formand", "et-medlem", "flertal"]}}}),
            "responses": {"201": _json(obj, "Sendt"), **_errors(400, 401, 403, 404, 422)}}},
        "/api/plans/{plan_id}/extend": {"post": {
            "summary": "Forlæng perioden (begrundelse og ny slutdato)",
            "parameters": plan, "requestBody": body({"type": "object", "required": ["new_end", "reason"],
                                                     "properties": {"new_end": {"type": "string", "format": "date-time"},
                                                                    "reason": {"type": "string"}}}),
            "responses": {"200": _json(obj, "Forlænget"), **_errors(400, 401, 403, 404, 422)}}},
        "/api/plans/{plan_id}/versions/{number}": {"get": {
            "summary": "En frosset version med ændringer i forhold til den forrige",
            "parameters": plan + [_path_param("number")],
            "responses": {"200": _json(obj, "OK"), **_errors(401, 404)}}},
        "/api/plans/{plan_id}/versions/{number}/sikkerby": {"post": {
            "summary": "Send versionen uden personoplysninger til Team Sikker By (afvises, hvis der findes CPR-numre eller fortrolige navne)",
            "parameters": plan + [_path_param("number")],
            "responses": {"201": _json(obj, "Sendt"), **_errors(401, 403, 404)}}},
        "/api/incidents/{incident_id}/involved": {
            "get": {"summary": "De personer, hændelsen angår (kun SSP Sekretariatet og den, der "
                               "aktiverede)",
                    "parameters": [_path_param("incident_id")],
                    "responses": {"200": _json(obj, "OK"), **_errors(401, 403, 404)}},
            "post": {"summary": "Registrér en person, hændelsen angår (navn, kaldenavne, alder, "
                                "område, rolle); loggen får rollen, ikke navnet",
                     "parameters": [_path_param("incident_id")],
                     "requestBody": body({"type": "object", "required": ["name"], "properties": {
                         "name": {"type": "string"},
                         "nicknames": {"type": "array", "items": {"type": "string"}},
                         "age": {"type": "integer"}, "area": {"type": "string"},
                         "role": {"type": "string",
                                  "enum": ["ung", "pårørende", "vidne", "anden"]}}}),
                     "responses": {"201": _json(obj, "Registreret"),
                                   **_errors(400, 401, 403, 404, 422)}}},
        "/api/incidents/{incident_id}/involved/{involved_id}": {"delete": {
            "summary": "Fjern en registreret person",
            "parameters": [_path_param("incident_id"), _path_param("involved_id")],
            "responses": {"200": _json(obj, "Fjernet"), **_errors(401, 403, 404)}}},
        "/api/incidents/{incident_id}/commitments": {"get": {
            "summary": "Opgavetavlen: hver indsats med myndighed, ansvarlig, bekræftelse og status; forfaldne først",
            "parameters": [_path_param("incident_id")],
            "responses": {"200": _json({"type": "array", "items": obj}, "OK"), **_errors(401, 404)}}},
        "/api/planned-events": {"post": {
            "summary": "Forbered en planlagt begivenhed med en beredskabsplan",
            "requestBody": body({"type": "object", "required": ["template", "title", "event_at"],
                                 "properties": {"template": {"type": "string"},
                                                "title": {"type": "string"},
                                                "event_at": {"type": "string", "format": "date-time"},
                                                "areas": {"type": "array", "items": {"type": "string"}},
                                                "whole_city": {"type": "boolean"},
                                                "days_before": {"type": "integer"}}}),
            "responses": {"201": _json(obj, "Forberedt"), **_errors(400, 401, 403, 422)}}},
        "/api/plans/{plan_id}/evaluations": {"post": {
            "summary": "En parts evaluering, når planens periode er slut",
            "parameters": plan, "requestBody": body({"type": "object", "required": ["text"],
                                                     "properties": {"text": {"type": "string"}}}),
            "responses": {"201": _json(obj, "Modtaget"), **_errors(400, 401, 403, 404, 422)}}},
        "/api/plan-versions/{version_id}/decisions": {"post": {
            "summary": "Styregruppen: godkend, afvis eller kommentér en version",
            "parameters": [_path_param("version_id")],
            "requestBody": body({"type": "object", "required": ["decision"], "properties": {
                "decision": {"type": "string", "enum": ["godkend", "afvis", "kommentar"]},
                "comment": {"type": "string"}}}),
            "responses": {"200": _json(obj, "Registreret"), **_errors(400, 401, 403, 404, 422)}}},
    }


def _meeting_paths() -> dict:
    obj = {"type": "object"}
    meeting = [_path_param("meeting_id")]

    def post(summary, body=None, ok="OK", code="200", params=meeting):
        operation = {"summary": summary, "parameters": params,
                     "responses": {code: _json(obj, ok), **_errors(400, 401, 403, 404, 422)}}
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        return {"post": operation}

    return {
        "/api/incidents/{incident_id}/meetings": {
            **post("Indkald til beredskabsmøde (faste parter for områderne; eksterne med begrundelse)",
                   {"type": "object", "properties": {
                       "starts_at": {"type": "string", "format": "date-time"},
                       "duration_minutes": {"type": "integer"}, "online": {"type": "boolean"},
                       "location": {"type": "string"},
                       "externals": {"type": "array", "items": {"type": "object", "properties": {
                           "person_id": {"type": "string"}, "reason": {"type": "string"}}}}}},
                   ok="Indkaldt", code="201", params=[_path_param("incident_id")]),
            "get": {"summary": "Møder med svar pr. myndighed", "parameters": [_path_param("incident_id")],
                    "responses": {"200": _json({"type": "array", "items": obj}, "OK"), **_errors(401, 403, 404)}}},
        "/api/meetings/{meeting_id}/change": post("Flyt mødet (samme UID, højere SEQUENCE)", {
            "type": "object", "properties": {"starts_at": {"type": "string", "format": "date-time"},
                                             "location": {"type": "string"}}}),
        "/api/meetings/{meeting_id}/cancel": post("Aflys mødet", {
            "type": "object", "properties": {"reason": {"type": "string"}}}),
        "/api/meetings/{meeting_id}/responses": post("Registrér et svar (fx fra en ekstern part)", {
            "type": "object", "required": ["person_id", "response"],
            "properties": {"person_id": {"type": "string"}, "response": {"type": "string"}}}),
        "/api/meetings/{meeting_id}/responses/sync": post("Hent svarene fra kalenderen; varsl suppleanter for myndigheder uden deltager"),
        "/api/meetings/{meeting_id}/decisions": post(
            "Beslutning til referatet (med indsats til handleplanen)", {
                "type": "object", "required": ["agenda_position", "text"], "properties": {
                    "agenda_position": {"type": "integer"}, "text": {"type": "string"},
                    "measure": {"type": "object"}}}, code="201"),
        "/api/meetings/{meeting_id}/minutes/apply": post("Overfør referatets indsatser til handleplanens udkast"),
        "/api/meetings/{meeting_id}/invitation.ics": {"get": {
            "summary": "Invitationen som iCalendar", "parameters": meeting,
            "responses": {"200": {"description": "text/calendar"}, **_errors(401, 404)}}},
    }


def openapi_document(server_url: str, role_of=lambda path, method: None) -> dict:
    from notifications.compose import AlertRequest

    activation = ActivationRequest.model_json_schema()
    alert = AlertRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    nested = alert.pop("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {"title": "SSP Beredskab", "version": "0.1.0",
                 "description": "Beredskab for SSP København: hændelser, varsling og leveringer. "
                                "Log ind med sessionscookien; i demo-tilstand også med "
                                "headeren X-Demo-Person."},
        "servers": [{"url": server_url}],
        "components": {
            "schemas": {"Aktivering": activation, "Fejl": _ERROR, "Haendelse": _INCIDENT,
                        "Varsel": alert, **nested},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "beredskab_session"},
                "demoPerson": {"type": "apiKey", "in": "header", "name": "X-Demo-Person"}},
        },
        "security": [{"session": []}, {"demoPerson": []}],
        "paths": complete_refusals({
            "/api/areas": {"get": {"summary": "Lokalområder", "responses": {
                "200": _json({"type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"}}}}, "OK"),
                **_errors(401)}}},
            "/api/incidents": {
                "get": {"summary": "Hændelser, du har adgang til", "responses": {
                    "200": _json({"type": "array", "items": {"$ref": "#/components/schemas/Haendelse"}}, "OK"),
                    **_errors(401)}},
                "post": {"summary": "Aktivér beredskab",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/Aktivering"}}}},
                         "responses": {"201": _json({"$ref": "#/components/schemas/Haendelse"},
                                                    "Beredskab aktiveret; varsel accepteret"),
                                       **_errors(400, 401, 403, 413, 422)}},
            },
            "/api/incidents/{incident_id}": _incident_path(
                "En hændelse med optælling af leveringer", {"$ref": "#/components/schemas/Haendelse"}),
            "/api/incidents/{incident_id}/deliveries": _incident_path(
                "Leveringer pr. modtager og kanal", {"type": "array", "items": {"type": "object"}}),
            "/api/incidents/{incident_id}/record": _incident_path(
                "Hændelsesloggen", {"type": "array", "items": {"type": "object"}}),
            "/api/incidents/{incident_id}/close": {"post": {
                "summary": "Afslut beredskabet (normaldrift); kun SSP Sekretariatet",
                "parameters": [_path_param("incident_id")],
                "responses": {"200": _json({"$ref": "#/components/schemas/Haendelse"}, "Afsluttet"),
                              **_errors(401, 403, 404), "409": _json(
                                  {"$ref": "#/components/schemas/Fejl"}, "Allerede afsluttet")}}},
            "/api/incidents/{incident_id}/export": {"get": {
                "summary": "Hændelsen som sagsakt (zip) til journalisering, eller som "
                           "aktindsigtskopi uden tredjemands personoplysninger; kun SSP "
                           "Sekretariatet; eksporten skrives i hændelsesloggen",
                "parameters": [_path_param("incident_id"), {
                    "name": "variant", "in": "query", "required": False,
                    "schema": {"type": "string", "enum": ["sagsakt", "aktindsigt"],
                               "default": "sagsakt"}}],
                "responses": {"200": {"description": "Zip-fil med sagsakt.json, README.txt, "
                                                     "hændelseslog, handleplan, møder, opgaver "
                                                     "og varsler",
                                      "content": {"application/zip": {"schema": {
                                          "type": "string", "format": "binary"}}}},
                              **_errors(400, 401, 403, 404)}}},
            **_alert_paths(),
            **_plan_paths(),
            **_meeting_paths(),
        }, role_of),
    }

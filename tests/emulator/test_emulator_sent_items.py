"""Sent Items in the emulator: a mail sent with saveToSentItems and a single-value extended
property is found again by `$filter` on that property, Bcc included; Mail.Read is needed;
filters the emulator cannot answer and malformed property ids are refused as Graph does."""

from __future__ import annotations

PROPERTY = "String {88a19ea6-4674-4223-b419-1221b118a4d3} Name SSPBeredskabVarsel"
SENDER = "ssp@kk.example"


def mail(alert: str, *bcc: str, property_id: str = PROPERTY, save: bool = True) -> dict:
    return {"message": {"subject": f"Varsel {alert}", "body": {"contentType": "Text", "content": "Hej"},
                        "toRecipients": [{"emailAddress": {"address": SENDER}}],
                        "bccRecipients": [{"emailAddress": {"address": a}} for a in bcc],
                        "singleValueExtendedProperties": [{"id": property_id, "value": alert}]},
            "saveToSentItems": save}


def by_alert(alert: str) -> str:
    return (f"/v1.0/users/{SENDER}/mailFolders/sentitems/messages?$select=id,bccRecipients,toRecipients"
            f"&$filter=singleValueExtendedProperties/Any(ep: ep/id eq '{PROPERTY}' and ep/value eq '{alert}')")


async def test_sent_items_are_found_by_their_extended_property_with_bcc(m365):
    headers = await m365.graph_headers()
    for alert, bcc in (("7", ["a@kk.example", "b@kk.example"]), ("8", ["c@kk.example"]), ("7", ["d@kk.example"])):
        response = await m365.client.post(f"/v1.0/users/{SENDER}/sendMail", json=mail(alert, *bcc), headers=headers)
        assert response.status == 202, await response.text()
    unsaved = await m365.client.post(f"/v1.0/users/{SENDER}/sendMail", json=mail("7", "e@kk.example", save=False),
                                     headers=headers)
    assert unsaved.status == 202
    response = await m365.client.get(by_alert("7"), headers=headers)
    assert response.status == 200, await response.text()
    found = (await response.json())["value"]
    assert [[r["emailAddress"]["address"] for r in m["bccRecipients"]] for m in found] == [
        ["d@kk.example"], ["a@kk.example", "b@kk.example"]]  # newest first, the unsaved one absent
    assert set(found[0]) == {"id", "bccRecipients", "toRecipients"}
    assert (await (await m365.client.get(by_alert("9"), headers=headers)).json())["value"] == []


async def test_reading_sent_items_needs_mail_read(make_emulator):
    m365 = await make_emulator(graph_permissions=["Mail.Send", "Mail.ReadBasic.All"])
    response = await m365.client.get(by_alert("7"), headers=await m365.graph_headers())
    assert response.status == 403


async def test_unsupported_filters_and_bad_property_ids_are_refused(m365):
    headers = await m365.graph_headers()
    response = await m365.client.get(f"/v1.0/users/{SENDER}/mailFolders/sentitems/messages?$filter=subject eq 'x'",
                                     headers=headers)
    assert response.status == 400
    bad = await m365.client.post(f"/v1.0/users/{SENDER}/sendMail", json=mail("7", "a@kk.example", property_id="Varsel"),
                                 headers=headers)
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "ErrorInvalidProperty"
    unknown = await m365.client.get(f"/v1.0/users/{SENDER}/mailFolders/archive/messages", headers=headers)
    assert unknown.status == 404

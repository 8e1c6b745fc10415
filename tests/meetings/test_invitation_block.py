"""Renewing our text in an online meeting's body: only our marked block changes, Outlook's meeting
blob and anything else around it stay byte for byte; without our block nothing is replaced."""
from __future__ import annotations

from notifications.calendar import invitation_block, replace_invitation

BLOB = ('<div style="width:100%"><span>____</span></div><div class="me-email-text">'
        '<a class="me-email-headline" href="https://teams.microsoft.com/l/meetup-join/x">Join</a></div>')


def test_only_our_block_is_replaced_nested_divs_and_all():
    current = (f'<html><body><div class="ssp-beredskab-indkaldelse"><div><p>Gammel</p></div></div>{BLOB}'
               '</body></html>')
    renewed = replace_invitation(current, "<div><p>Ny</p></div>")
    assert renewed == f"<html><body>{invitation_block('<div><p>Ny</p></div>')}{BLOB}</body></html>"


def test_exchanges_extra_attributes_on_our_block_are_tolerated():
    current = f'<div dir="ltr" class="x_ssp ssp-beredskab-indkaldelse"><p>Gammel</p></div>{BLOB}'
    assert replace_invitation(current, "<p>Ny</p>") == f"{invitation_block('<p>Ny</p>')}{BLOB}"


def test_without_our_block_or_with_it_unclosed_nothing_is_replaced():
    assert replace_invitation(f"<p>Skrevet i Outlook</p>{BLOB}", "<p>Ny</p>") is None
    assert replace_invitation('<div class="ssp-beredskab-indkaldelse"><p>Gammel</p>', "<p>Ny</p>") is None

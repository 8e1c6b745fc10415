"""Retention from the settings: the policy, the daily job and the report the command prints."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handleplaner import retention
from handleplaner.clock import dansk, utcnow
from handleplaner.retention import count
from notifications.retention import delivery_log

from .settings import Settings

log = logging.getLogger("retention")


def policy(settings: Settings) -> retention.Policy:
    return retention.Policy(
        personal_data_months=settings.retention_personal_data_months,
        logs=(delivery_log(settings.retention_delivery_log_months),
              retention.read_log(settings.retention_read_log_months)))


def run(engine: Engine, settings: Settings, *, dry_run: bool = False,
        now: datetime | None = None) -> retention.Report:
    """What is due now (dry run), or do it. The daily job runs this in a thread."""
    moment = now or utcnow()
    rules = policy(settings)
    if dry_run:
        with Session(engine) as session:
            return retention.due(session, moment, rules)
    report = retention.apply(engine, moment, rules)
    log.info("%s", " ".join(line.strip() for line in lines(report)))
    return report


def lines(report: retention.Report) -> list[str]:
    """The report in Danish: a heading and one line per data class."""
    dry = report.dry_run
    totals = report.totals()
    personal = totals["personal_data"]
    out = [f"Prøvekørsel af opbevaringsfristerne pr. {dansk(report.now)} – intet er ændret:"
           if dry else f"Opbevaringsfristerne er håndhævet pr. {dansk(report.now)}:",
           f"  Personoplysninger (hændelser afsluttet for mere end "
           f"{report.policy.personal_data_months} mdr. siden): "
           f"{count(personal['fields'], 'felt', 'felter')} i "
           f"{count(personal['rows'], 'række', 'rækker')} "
           f"{'skal anonymiseres' if dry else 'anonymiseret'}, "
           f"{count(personal['incidents'], 'hændelse', 'hændelser')}"]
    forgotten = totals["forgotten"]
    out.append(f"  Glemt (registrerede personers navne og CPR-numre i al fritekst, de "
               f"involverede personer, loggens nøgler): "
               f"{count(forgotten['occurrences'], 'forekomst', 'forekomster')} i "
               f"{count(forgotten['rows'], 'række', 'rækker')} "
               f"{'skal fjernes' if dry else 'fjernet'}, "
               f"{count(forgotten['involved'], 'involveret person', 'involverede personer')} "
               f"{'skal slettes' if dry else 'slettet'}, "
               f"{count(forgotten['keys'], 'nøgle', 'nøgler')} "
               f"{'skal destrueres' if dry else 'destrueret'}, "
               f"{count(forgotten['incidents'], 'hændelse', 'hændelser')}")
    for item in report.policy.logs:
        counts = totals[item.key]
        line = (f"  {item.label} (ældre end {item.months} mdr.): "
                f"{count(counts['deleted'], 'post', 'poster')} "
                f"{'skal slettes' if dry else 'slettet'}")
        if any(table.clear for table in item.tables):
            line += (f", {count(counts['cleared'], *item.cleared)} "
                     f"{'skal ryddes' if dry else 'ryddet'}")
        out.append(line)
    out.append(f"  Hændelsesloggen: {count(len(report.incidents), 'hændelse', 'hændelser')} "
               + ("ville få" if dry else "har fået") + " en post om det")
    return out

"""The statistics page for the secretariat's annual report (/statistik?aar=2026)."""
from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from handleplaner.clock import utcnow

from . import access
from . import statistics as stats
from .charts import bar_chart
from .pages import engine, page


def _charts(figures: stats.Figures) -> dict:
    per_area = bar_chart((c.label, c.count, str(c.count)) for c in figures.per_area)
    per_type = bar_chart((c.label, c.count, str(c.count)) for c in figures.per_type)
    times = bar_chart((t.label, t.median.total_seconds() / 3600 if t.median else None,
                       stats.duration_text(t.median) if t.median else "ingen")
                      for t in figures.times)
    c = figures.commitments
    in_time = bar_chart((label, n, f"{n} ({round(100 * n / c.decided)} %)" if c.decided else str(n))
                        for label, n in (("Udført i tide", c.met), ("Udført for sent", c.late),
                                         ("Ikke udført, fristen er overskredet", c.missed)))
    return {"per_area": per_area, "per_type": per_type, "times": times, "in_time": in_time}


@access.rule(access.SECRETARIAT)
async def statistics_page(request: web.Request) -> web.Response:
    now = utcnow()
    raw = request.query.get("aar")
    person = access.caller(request).person
    with Session(engine(request)) as session:
        years = stats.years_with_incidents(session, now=now)
        try:
            year = stats.parse_year(raw, now=now)
        except stats.YearInvalid as invalid:
            return page(request, "statistics.html.j2", status=400, person=person, years=years,
                        year=None, error=str(invalid), figures=None, charts=None,
                        duration=stats.duration_text)
        figures = stats.year_statistics(session, year, now=now)
    return page(request, "statistics.html.j2", person=person,
                years=sorted(set(years) | {year}, reverse=True), year=year, error=None,
                figures=figures, charts=_charts(figures.real), duration=stats.duration_text)


def routes() -> list[web.RouteDef]:
    return [web.get("/statistik", statistics_page)]

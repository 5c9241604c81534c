"""The staff console at ``/desk/`` in ``clinicbot serve``: server-rendered pages over the services.

An adapter like the CLI and the Telegram staff buttons: a page parses the request, calls the
same service functions (``bot/services/``) and renders a template; it never holds a rule of its
own and keeps no state in process memory (sessions, lock-outs and CSRF tokens are in the
database: :mod:`bot.services.desk_auth`). :func:`routes` lists every route; ``bot/server.py``
mounts them.

Modules: :mod:`bot.desk.web` (the decorator, rendering, roles), :mod:`bot.desk.login` (login,
logout), :mod:`bot.desk.dashboard` (``/desk/``, ``/desk/patients``); one module a page after
that, each named for it: ``today``, ``noshows``, ``registrations`` (merge, keep separate),
``patient`` and ``patient_money`` (the profile, guardians, memberships, pay back),
``patient_export`` (everything held about the patient: JSON, or its readable copy),
``patient_erase`` (Erase, managers),
``invitations`` (inviting a family member: create, resend, revoke), ``unpaid``,
``packages``, ``package_changes`` (expiry, transfer, refund), ``payments``, ``statement``,
``booking`` and ``slots`` (book, reschedule), ``appointment``, ``closures``, ``messages``,
``audit_log``, ``staff_admin``, ``reports`` (with ``charts``, ``report_sections``),
``report_members`` (the membership report), ``waitlist`` (who waits, Remove). Templates in
``bot/desk/templates/`` (Jinja2, autoescaped), one stylesheet in ``bot/desk/static/desk.css``.

Adding a page (the pattern every page follows)
----------------------------------------------
1. **Route** -- in a module of its own (``bot/desk/noshows.py``), one function a route::

       from bot.desk.web import DESK, desk_of, desk_page, refuse, render

       @desk_page(roles=DESK)               # or EVERYONE, MANAGERS, or a set of role names
       async def no_shows(request: Request) -> Response:
           desk = desk_of(request)          # .staff, .t, .zone, .currency, .uow()
           async with desk.uow(readonly=True) as uow:
               items = await desk_queues.no_shows_to_decide(uow)
               return render(request, "no_shows.html", items=items)

   ending with ``ROUTES = [Route("/desk/no-shows", no_shows, methods=["GET"]), ...]``; add
   the module to :data:`PAGES`.
   Render inside the unit of work: rows it loaded are expired once it ends. ``desk.staff``
   is a plain copy (``id``, ``key``, ``name``, ``role``, ``practitioner_id``).
   The decorator redirects to ``/desk/login`` without a live session and answers the 403 page
   for another role; a page that narrows further (a practitioner's own schedule) checks
   ``desk.staff.practitioner_id`` itself and answers ``refuse(request, message)``.
2. **Template** -- ``bot/desk/templates/no_shows.html`` starts with
   ``{% extends "base.html" %}`` and fills ``{% block title %}`` and ``{% block main %}``.
   Every text is ``{{ _("...") }}`` (values as ``{{ _("Due {day}", day=day(d)) }}``); amounts
   ``{{ money(x) }}``, days ``{{ day(d) }}``, moments ``{{ when(m) }}`` (clinic time).
   Every input has a ``<label for=...>``; lists are tables with ``<th scope="col">``.
3. **Action (POST)** -- a form ``<form method="post" action="/desk/no-shows/{{ id }}/redeem">``
   with ``{% include "csrf.html" %}`` inside. The route is another ``@desk_page`` function with
   ``methods=["POST"]``: the decorator has already refused a missing or wrong CSRF token
   (403). Read ``await request.form()``, call the service in one unit of work with
   ``by=desk.staff.key``, commit, and answer ``RedirectResponse(url, status_code=303)``
   (POST/redirect/GET); a refusal (``DomainError``) renders the page again with
   ``desk.t.error_text(exc)`` and status 400 (the services' refusals are in English, with
   dates and amounts in the staff locale).
4. **Translation** -- run ``.venv/bin/python dev.py translations`` (it extracts the
   templates' ``_()`` too) and translate the new entries in ``bot/locales/{es,fr}``.
5. **Tests** -- route tests with httpx beside ``tests/e2e/test_desk_core.py`` (its
   ``console`` fixture and ``log_in`` helper): every action, every role refused.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bot.desk import (
    appointment,
    audit_log,
    booking,
    closures,
    dashboard,
    invitations,
    login,
    messages,
    noshows,
    package_changes,
    packages,
    patient,
    patient_erase,
    patient_export,
    patient_money,
    payments,
    registrations,
    report_members,
    reports,
    series,
    staff_admin,
    statement,
    today,
    unpaid,
    waitlist,
)
from bot.desk.web import HERE

PAGES = (
    login, dashboard, today, noshows, registrations, patient, patient_money, patient_export,
    patient_erase, unpaid, packages,
    package_changes, payments, booking, appointment, closures, messages, audit_log, staff_admin,
    statement, reports, report_members, invitations, series, waitlist,
)


def routes() -> list[BaseRoute]:
    """Every console route: each page module's ``ROUTES`` (each path written out, so
    ``/metrics`` names them one by one), and the stylesheet."""
    found: list[BaseRoute] = [route for module in PAGES for route in module.ROUTES]
    found.append(Mount("/desk/static", StaticFiles(directory=HERE / "static"), name="desk-static"))
    return found

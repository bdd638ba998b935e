"""The doctor console's use cases, without the web layer.

``accounts`` (staff accounts, argon2, lockout), ``sessions`` (server-side
sessions, CSRF), ``audit`` (the append-only audit log), ``cases`` (handoffs
and transcripts as a doctor sees them), ``worklists`` (re-visit requests and
care-team flags), ``factory`` (all of them from ``Settings``). The web pages
are in ``channels/console``.
"""

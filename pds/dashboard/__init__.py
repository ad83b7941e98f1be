"""The citizen's and the auditor's dashboard: server-rendered GOV.UK pages.

Works with JavaScript off. Controllers only read the form, call the same services
the JSON API calls (accounts, vault, consent, audit) and render; every form carries
a CSRF token (``pds.dashboard.security``) and every failure becomes a page that
says how to put it right (``pds.dashboard.errors``).
"""

"""Consent requests, grants, the access-policy decision, consent tokens and receipts.

Empty until the consent issue lands; the package exists so the layout in
DESIGN.md is real from the first commit and imports are stable.
"""

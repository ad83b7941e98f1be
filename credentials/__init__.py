"""Verifiable credentials: SD-JWT VC issue, present and verify; status lists.

Empty until the credentials issue lands.
"""

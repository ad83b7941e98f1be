"""The OAuth 2 authorization server in the FAPI 2.0 style (API.md "Service systems")."""

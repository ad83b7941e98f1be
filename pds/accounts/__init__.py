"""Citizen accounts: sign-up, sign-in and the rules that keep passwords worth having."""

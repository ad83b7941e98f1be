"""Verifiable credentials: SD-JWT VC issue, present and verify; status lists.

Pure cores (``sdjwt``, ``sdjwt_vc``, ``status_list``, ``types``, ``claims``), the tables
(``models``), the use cases over a session (``service``, ``lists``, ``keys``,
``verification``, ``export``) and the citizen and public routes (``routes``).
"""

"""The connector API (``/connect/v1``): service systems read under a live grant."""

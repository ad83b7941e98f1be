"""The HTTP layer shared by every area: problem documents, request context, health."""

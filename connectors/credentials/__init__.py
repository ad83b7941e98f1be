"""The connector side of credentials: issuing, status changes, presentations."""

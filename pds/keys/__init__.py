"""Key-encryption keys: kept behind a provider so they never reach the rest of the app."""

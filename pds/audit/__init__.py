"""The audit log: every act on personal data appends an entry in its own transaction."""

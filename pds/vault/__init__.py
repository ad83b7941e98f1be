"""The encrypted vault: every citizen's data sealed under their own key."""

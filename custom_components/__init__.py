"""Custom integrations (a package so tests can import custom_components.double_take)."""

"""modelctl ui: a read-only web dashboard of the workspace (see docs/ui.md)."""

"""Git-aware workflows: pull-request plans between two revisions, drift and reconcile."""

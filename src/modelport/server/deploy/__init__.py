"""Server side of deployments: app-root layout, no-code entry scripts, service auth, reconcile steps."""

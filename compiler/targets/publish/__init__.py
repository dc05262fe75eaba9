"""Publishing targets (edge, fpga): rendered bundles written to a folder in the repo or pushed to an
OCI registry, each with a marker that the plan reads back as live state."""

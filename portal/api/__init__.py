"""The REST API under /api/ (DRF): thin views over scheduler.actions."""

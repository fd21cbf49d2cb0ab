"""Accounting (slurmdbd): accounts, associations, QOS, usage and reports."""

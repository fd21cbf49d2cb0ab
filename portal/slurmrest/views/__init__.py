"""Thin views: parse, authorize, call one action or read, render per version."""

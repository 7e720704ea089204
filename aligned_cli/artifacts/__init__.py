"""Versioned artifact schemas (manifest.json, run_results.json) and their atomic writer."""

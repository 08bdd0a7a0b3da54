"""Tests of the scraping pipeline: each stage alone, then run_pipeline against the served shop site."""

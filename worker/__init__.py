"""The Celery worker: the app, thin tasks, and the scraping pipeline as plain functions."""

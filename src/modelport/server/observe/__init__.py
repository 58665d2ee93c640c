"""Watching running services: telemetry ingestion and store, OTLP export, model data collection.

Replicas report to the workspace server (serving/telemetry.py); nothing here is on a scoring path.
"""

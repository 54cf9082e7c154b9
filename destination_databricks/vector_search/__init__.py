"""Mosaic AI Vector Search: Delta Sync indexes on the tables a sync lands, created and synced by the connector."""

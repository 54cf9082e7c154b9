"""Direct ingest: append streams land through Zerobus Ingest straight into their managed tables, with no staging
file and no statement per load (the Managed tables data source's `direct_ingest`).

routes.py decides which streams go (append streams without a refresh, names and column types Zerobus takes);
tables.py creates a table or adds its new columns before its first rows are sent; ingest.py keeps one Arrow Flight
stream per table through the official SDK; stager.py is the Stager the sync sees, which sends the direct tables'
batches and hands every other table to the volume stager, created only when one needs it.
"""

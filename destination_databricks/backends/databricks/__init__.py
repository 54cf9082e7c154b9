"""The Databricks backend: staging on S3, Azure or a volume (staging/), SQL on a warehouse (sql.py, sql_client.py), the loader."""

FROM python:3.11-slim

WORKDIR /airbyte/integration_code
COPY pyproject.toml README.md ./
COPY destination_databricks ./destination_databricks
RUN pip install --no-cache-dir . && mkdir -p /local

ENV AIRBYTE_ENTRYPOINT="destination-databricks"
ENTRYPOINT ["destination-databricks"]

LABEL io.airbyte.name=airbyte/destination-databricks
LABEL io.airbyte.version=0.1.0

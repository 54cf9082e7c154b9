FROM python:3.11-slim

WORKDIR /airbyte/integration_code
COPY pyproject.toml README.md ./
COPY destination_databricks ./destination_databricks
# Installed as root; run as the unprivileged user platforms expect (uid 1000), who owns /airbyte and /local.
RUN pip install --no-cache-dir . \
    && useradd --uid 1000 --user-group --create-home airbyte \
    && mkdir -p /local \
    && chown -R airbyte:airbyte /airbyte /local
USER airbyte

ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/destination-databricks"
ENTRYPOINT ["/usr/local/bin/destination-databricks"]

LABEL io.airbyte.name=airbyte/destination-databricks
LABEL io.airbyte.version=0.1.0

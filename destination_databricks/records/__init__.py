"""Records: a stream's JSON schema → Avro schema → Arrow columns, and records → Arrow batches."""

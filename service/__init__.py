"""MySanta recommendation service: gift recommendations computed in PostgreSQL, served over HTTP."""

# PostgreSQL 15 with pg_cron installed; preloaded by the command in docker-compose.yml.
FROM postgres:15-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15-cron \
    && rm -rf /var/lib/apt/lists/*

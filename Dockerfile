# The API image: dependencies built in one stage, a slim non-root runtime in the other.
# The same image runs `python -m service migrate` (one-shot) and `python -m service serve`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 mysanta
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY service ./service
COPY sql ./sql
COPY migrations ./migrations
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000
USER mysanta
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["python", "-m", "service", "serve"]

# briefbot: `docker build -t briefbot .`, then `docker compose up -d` (see docs/operations.md).

# ---- build: the locked dependencies and the package in a virtual environment ----
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so editing the code does not reinstall them. The lock holds the dev
# tools too (one lock for `make`); the service needs none of them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock \
    && pip uninstall --yes pytest pytest-asyncio pytest-timeout ruff mypy types-PyYAML
COPY pyproject.toml README.md ./
COPY bot ./bot
# Translations are compiled here: at run time the package directory is not writable.
RUN pip install --no-deps . \
    && python -I -c "from bot.i18n import compile_catalogs; compile_catalogs()"

# ---- run: the virtual environment, feeds.yaml and a storage volume, as a plain user ----
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/briefbot briefbot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY feeds.yaml ./
RUN mkdir storage && chown briefbot:briefbot storage
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    METRICS_HOST=0.0.0.0
USER briefbot
# The SQLite database (the default DATABASE_URL) lives here; unused on PostgreSQL.
VOLUME ["/app/storage"]
# /healthz answers 200 when the database is reachable and the scheduler runs (or this
# instance stands by), 503 otherwise. Without METRICS_PORT there is nothing to ask.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; p = int(os.environ.get('METRICS_PORT') or 0); p and u.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=4); sys.exit(0)"]
CMD ["briefbot", "run"]

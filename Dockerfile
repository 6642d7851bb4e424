# Kassenportal: one image for web (gunicorn), Celery workers and Celery beat.
# docker compose up --build   (see docker-compose.yml and .env.example)

# --- build: wheels of the portal and every pinned dependency ---------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
COPY portal ./portal
COPY tenants ./tenants
COPY tse ./tse
COPY exports ./exports
RUN pip wheel --wheel-dir /wheels .

# --- runtime -------------------------------------------------------------------------------------
FROM python:3.11-slim
# The code runs from /app: templates/, static/ and locale/ live beside the packages and the
# settings find them relative to portal/. PYTHONPATH makes /app win over the installed copy.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    PORTAL_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles

RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /home/portal --create-home portal \
    && mkdir /data && chown portal:portal /data

COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels kassenportal && rm -rf /wheels

WORKDIR /app
COPY manage.py ./
COPY locale ./locale
COPY portal ./portal
COPY tenants ./tenants
COPY tse ./tse
COPY exports ./exports
COPY templates ./templates
COPY static ./static

# Static files are collected at build time with the production storage (hashed names + manifest),
# so the production check needs a SECRET_KEY: a throw-away one that exists in this step only.
RUN SECRET_KEY="build-only-collectstatic-key-not-used-at-runtime-0123456789" \
    PORTAL_DEPLOYMENT=production DEBUG=false \
    python manage.py collectstatic --noinput --verbosity 0

# Code and static files stay owned by root (read-only for the app); /data is the app's volume.
USER portal
VOLUME ["/data"]
EXPOSE 8000

# Worker processes: WEB_CONCURRENCY (read by gunicorn itself).
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]

# carebot in a container: `carebot run` as a non-root user, the SQLite file on a volume.
#   docker build -t carebot .
#   docker run -d -p 8080:8080 -v carebot-data:/data --env-file carebot.env carebot
# Import the agency once (and after each edit of the file):
#   docker run --rm -v carebot-data:/data -v "$PWD/agency.toml:/agency.toml:ro" carebot \
#     carebot import /agency.toml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CAREBOT_DATABASE=/data/carebot.db

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY storage ./storage
COPY locales ./locales
COPY agencies ./agencies
# Editable: the catalogues (locales/) and the demo agency are found beside the code, which
# a plain wheel install would leave behind.
RUN pip install -e . \
    && python -m babel.messages.frontend compile -d locales -D messages \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin carebot \
    && mkdir -p /data && chown carebot /data

USER carebot
VOLUME ["/data"]
EXPOSE 8080

# /healthz answers 200 when the database, the timers and every configured channel are fine.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]

# Listen on every interface of the container; the host decides what is published.
CMD ["carebot", "run", "--host", "0.0.0.0", "--port", "8080"]

# cryptoagg for Hugging Face Spaces (or any container host): one worker on $PORT (7860).
# Several replicas of this one image (PostgreSQL, Redis, nginx in front): compose.yaml.
#
# TRUSTED_PROXIES: on Spaces every request reaches the container through the platform's
# TLS-terminating proxies, which connect from its private network (10.x) and pass the
# visitor's address in X-Forwarded-For; trusting 10.0.0.0/8 gives each visitor their own rate
# limit and WebSocket share (README "Client address"). On any other host set it to your own
# proxies' addresses (docker run -e TRUSTED_PROXIES=...), or to empty with no proxy in front:
# whatever connects from a trusted network can claim any client address.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=7860 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    DATABASE_URL=sqlite:////data/cryptoagg.db \
    TRUSTED_PROXIES=10.0.0.0/8

RUN useradd --create-home --uid 1000 app
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install -c constraints.txt . \
    && mkdir -p /data/exports /data/backups /data/logs \
    && chown -R app:app /data

USER app
EXPOSE 7860
VOLUME ["/data"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '7860'), timeout=4)"

CMD ["cryptoagg", "serve"]

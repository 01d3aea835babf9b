# printer-exporter and pull-sync in one image (docs/deploy.md).
#
#   docker build -t printer-exporter .
#   docker run -d -p 9269:9269 -v "$PWD/printer-exporter.yml:/etc/printer-exporter/printer-exporter.yml:ro" printer-exporter
#   docker run --entrypoint pull-sync printer-exporter --config.file /etc/pull-sync/pull-sync.yml
#
# Python comes from Debian's packages in both stages, whatever the base, so the same file builds
# on debian:bookworm-slim, on python:3.11-slim-bookworm (its /usr/local Python is not used) and
# on a bare Debian root filesystem imported as a local image (deploy/container/build-local.sh).
# The base must be Debian bookworm: PYTHON_DEB is that release's version of python3.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS python
ARG PYTHON_DEB=3.11.2-1+b1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3=${PYTHON_DEB} python3-venv=${PYTHON_DEB} \
 && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The wheel of this project and of every dependency, so the runtime stage installs offline and
# carries no compiler, no build backend and no pip cache.
FROM python AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter/ exporter/
COPY archive/ archive/
COPY pull_sync/ pull_sync/
# Behind a proxy that intercepts TLS, give its CA bundle to pip for this step only (it is not
# kept in the image): --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates.crt \
    if [ -s /run/secrets/ca-certificates.crt ]; then \
        export PIP_CERT=/run/secrets/ca-certificates.crt; \
    fi \
 && python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python AS runtime
LABEL org.opencontainers.image.title="printer-exporter" \
      org.opencontainers.image.description="Prometheus exporter and data collector agent for networked printers (SNMP), with pull-sync" \
      org.opencontainers.image.licenses="Apache-2.0"

# pip is removed once the wheels are in: nothing installs into a running container.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python3 -m venv /opt/printer-exporter \
 && /opt/printer-exporter/bin/pip install --no-cache-dir --no-index --find-links /wheels \
        /wheels/printer_exporter-*.whl \
 && /opt/printer-exporter/bin/pip uninstall --yes --quiet pip

# A fixed numeric user, so a volume's owner and Kubernetes' runAsNonRoot can name it.
# /var/lib/printer-exporter: the meter ledger (--storage.path), and what pull-sync writes for
# the exporter (remote.yml, profiles/); /var/lib/pull-sync: pull-sync's outbox.
RUN groupadd --system --gid 10001 printer-exporter \
 && useradd --system --no-log-init --uid 10001 --gid printer-exporter --no-create-home \
        --home-dir /var/lib/printer-exporter --shell /usr/sbin/nologin printer-exporter \
 && install -d -o 10001 -g 10001 -m 0750 \
        /var/lib/printer-exporter /var/lib/printer-exporter/profiles /var/lib/pull-sync

# The example config polls and sweeps nothing: the container starts healthy, and a mounted
# config replaces it.
COPY examples/printer-exporter.yml /etc/printer-exporter/printer-exporter.yml

ENV PATH=/opt/printer-exporter/bin:$PATH \
    HEALTHCHECK_URL=http://127.0.0.1:9269/-/healthy
USER 10001:10001
WORKDIR /var/lib/printer-exporter
EXPOSE 9269

# The image has no curl: Python's urllib, with the environment's proxies ignored so the check
# never leaves the container. Set HEALTHCHECK_URL when the exporter listens elsewhere.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open(os.environ['HEALTHCHECK_URL'], timeout=4)"]

ENTRYPOINT ["printer-exporter"]
CMD ["--config.file=/etc/printer-exporter/printer-exporter.yml", \
     "--web.listen-address=:9269", \
     "--storage.path=/var/lib/printer-exporter"]

# syntax=docker/dockerfile:1
# One image for every Sprint Wins process: web (the default command), worker, scheduler and the
# migration Job differ only in the arguments given to `sprintwins`. docs/deploy.md shows the build.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- stage 1: wheels for the app and every dependency (no compiler: all of them ship wheels) --------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY integrations ./integrations
COPY jobs ./jobs
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# -- stage 2: the runtime, installed from those wheels only ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sprintwins" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed uid/gid so the chart's runAsUser 10001 and fsGroup match the files' owner.
RUN groupadd --system --gid 10001 sprintwins \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin sprintwins

# The wheels are bind-mounted, not copied, so they never become a layer of the final image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/sprintwins-*.whl

# The root filesystem is read-only in the cluster: everything that writes goes to /tmp (an emptyDir
# there). HOME and XDG_RUNTIME_DIR point there too, for libraries that write under them. There is
# deliberately no default database URL: the embedded SQLite default (var/ under the working
# directory) is unwritable here, so a missing SPRINTWINS_DATABASE_URL fails loudly at start-up
# instead of writing wins to a scratch volume.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_RUNTIME_DIR=/tmp \
    SPRINTWINS_ENV=production

WORKDIR /app
USER 10001:10001
EXPOSE 8000

ENTRYPOINT ["sprintwins"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

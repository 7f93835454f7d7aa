# syntax=docker/dockerfile:1
#
# The jeco-server image: the web client built in a Node image, the server in a Rust image, both
# run from debian:bookworm-slim as an unprivileged user (uid 10001), the client served at `/`. Listens on 0.0.0.0:8080 and keeps its data directory in /data: mount a
# volume there (uploads, the token signing key, and the SQLite database when no PostgreSQL URL
# is set). deploy/compose.yaml runs two of these behind nginx; the README's "Deploying"
# section describes the settings.
#
#   docker build -t jeco-server .
#   docker run --rm -p 8080:8080 -v jeco-data:/data jeco-server
#
# RUST_VERSION selects the build toolchain image (rust:<version>-slim-bookworm); the default
# is the newest stable release, and the workspace builds on 1.88 or later.

ARG RUST_VERSION=1

FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY examples/web/package.json examples/web/package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY examples/web/ ./
RUN npm run bundle

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# Cargo needs the manifest of every workspace member, so the whole tree is copied;
# .dockerignore keeps build output, local data and VCS metadata out of the context.
COPY . .
# The registry and target directory live in BuildKit cache mounts, so a rebuild after a source
# change recompiles only what changed. The binary is copied out of the cache in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p jeco-server \
    && install -D -m 0755 target/release/jeco-server /out/jeco-server

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 jeco \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin jeco \
    && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=build /out/jeco-server /usr/local/bin/jeco-server
COPY --from=web /web/dist /usr/local/share/jeco/web
COPY --chmod=0755 deploy/healthcheck.sh /usr/local/bin/jeco-healthcheck

ENV JECO_LISTEN=0.0.0.0:8080 \
    JECO_DATA_DIR=/data \
    JECO_WEB_DIR=/usr/local/share/jeco/web
USER 10001:10001
WORKDIR /data
EXPOSE 8080
# SIGTERM makes the server stop accepting, send real-time clients a `closing` frame and finish
# in-flight requests; allow it about 10 s (`docker stop -t 10`, compose's stop_grace_period).
STOPSIGNAL SIGTERM
# Ready means the store (and Redis, when configured) answers; see deploy/healthcheck.sh.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/jeco-healthcheck"]
ENTRYPOINT ["/usr/local/bin/jeco-server"]

# sessionspec: build with cargo, run on a slim base as a non-root user.
#   docker build -t sessionspec .
#   docker run --rm sessionspec load --scenario drf-login-list-logout --run-time 5s --hash-cost low
FROM rust:1-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ make cmake perl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole tree but what .dockerignore leaves out (Cargo.toml names the test targets too).
COPY . .
RUN cargo build --release --locked --bin sessionspec

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 sessionspec \
    && useradd --uid 10001 --gid 10001 --home-dir /app --create-home --shell /usr/sbin/nologin sessionspec
COPY --from=build /src/target/release/sessionspec /usr/local/bin/sessionspec
WORKDIR /app
USER 10001:10001
ENTRYPOINT ["sessionspec"]
CMD ["--help"]

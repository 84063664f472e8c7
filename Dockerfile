# A container image for scheduled reports: build in a full Rust image, run in a slim one.
#   docker build -t trailglass .
#   docker run --rm -v "$PWD/lake:/lake" -v "$PWD/trailglass.toml:/etc/trailglass.toml:ro" \
#     -e TRAILGLASS_LAKE=/lake -e TRAILGLASS_CONFIG=/etc/trailglass.toml \
#     trailglass report --since 24h --ingest s3://org-trail-bucket --fail-on high

FROM rust:1.95-bookworm AS build
WORKDIR /src
# The dependency graph is large (about 25 minutes on two cores): copy the manifests first so a
# change to the sources alone reuses the cached dependency layer.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin trailglass || true
COPY src src
COPY queries queries
COPY tests tests
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin trailglass

FROM debian:bookworm-slim
# CA certificates for S3 and KMS over TLS; nothing else is needed at run time.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent trailglass
COPY --from=build /src/target/release/trailglass /usr/local/bin/trailglass
USER trailglass
ENTRYPOINT ["trailglass"]
CMD ["--help"]

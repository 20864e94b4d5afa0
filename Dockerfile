# Build: everything Herald links (SQLite, libpq, OpenSSL for libpq) is compiled in, so the
# runtime image needs only CA certificates.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY askama.toml ./
COPY static ./static
RUN cargo build --release --locked && cp target/release/herald /herald

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin herald \
 && mkdir -p /data && chown herald /data
COPY --from=build /herald /usr/local/bin/herald
USER herald
WORKDIR /data
VOLUME /data
ENV HERALD_DATABASE_URL=sqlite:///data/herald.db \
    HERALD_BIND=0.0.0.0:8080 \
    HERALD_PUBLIC_URL=http://localhost:8080 \
    HERALD_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/herald"]
CMD ["serve"]

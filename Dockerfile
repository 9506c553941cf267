# grid-dispatch: multi-stage build, non-root runtime, configuration through GD_* env vars.
# Mirrors: override BUILDER_IMAGE / RUNTIME_IMAGE with an internal registry (e.g. Harbor).
ARG BUILDER_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILDER_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: cached until Cargo.toml/Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin grid-dispatch

# The case file's PDFs embed (subset) a CJK font: Noto Serif CJK, with its licence (SIL OFL).
FROM ${BUILDER_IMAGE} AS fonts
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=builder /src/target/release/grid-dispatch /app/grid-dispatch
COPY config/ /app/config/
COPY --from=fonts /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc /app/fonts/NotoSerifCJK-Regular.ttc
COPY --from=fonts /usr/share/doc/fonts-noto-cjk/copyright /app/fonts/NotoSerifCJK.copyright
# Listen on all interfaces inside the container; set GD_REDIS__URL and GD_AUTH__JWT_SECRET
# (and GD_HTTP__PUBLIC_BASE_URL) at run time. Secrets are never baked into the image.
ENV GD_HTTP__ADDR=0.0.0.0:8080 \
    GD_CASEFILE__FONT_PATH=/app/fonts/NotoSerifCJK-Regular.ttc \
    GD_ENV=production \
    GD_CONFIG_DIR=/app/config
EXPOSE 8080
# 65532 is distroless's "nonroot" user.
USER 65532:65532
HEALTHCHECK --interval=15s --timeout=3s --retries=3 CMD ["/app/grid-dispatch", "healthcheck"]
ENTRYPOINT ["/app/grid-dispatch"]
CMD ["serve"]

# The `sv2` binary (every role: tp, pool, miner, keygen, demo) on Debian slim.
#   docker build -t libsv2 .
#   docker run --rm -v sv2-data:/data -p 8442:8442 libsv2 tp --data-dir /data/tp
FROM rust:1-bookworm AS build
# cmake and Boost headers build libbitcoinkernel, the embedded regtest node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake libboost-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p sv2-roles --bin sv2 \
 && install -D target/release/sv2 /out/sv2

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /data sv2
COPY --from=build /out/sv2 /usr/local/bin/sv2
USER sv2
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/sv2"]
CMD ["--help"]

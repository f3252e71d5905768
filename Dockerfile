# syntax=docker/dockerfile:1
#
# The cartwright worker: one static binary on an empty image, run as the user cartwright
# (uid 65532), its data directory a volume.
#
#   docker build -t cartwright .
#   docker run --rm -p 8080:8080 -v cartwright-data:/var/lib/cartwright cartwright
#
# With no flags `serve` starts an embedded NATS server on the container's loopback and the
# demo tenant, as on a laptop. Several workers join a NATS cluster of their own instead:
#
#   docker run ... cartwright serve --nats-url nats://nats:4222 --replicas 3 --config /etc/cartwright/cartwright.yaml
#
# deploy/kubernetes runs three of them as a StatefulSet (docs/operations.md, "Several workers").

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO_ENABLED=0 builds without a C toolchain (Pebble's memory then in the Go heap:
# docs/performance.md); VERSION is what `cartwright version` and the metrics report.
ARG CGO_ENABLED=1
ARG VERSION=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=${CGO_ENABLED} VERSION=${VERSION} deploy/rootfs.sh /rootfs

FROM scratch
COPY --from=build /rootfs/ /
COPY --from=build --chown=65532:65532 /rootfs/var/lib/cartwright /var/lib/cartwright
USER 65532:65532
WORKDIR /var/lib/cartwright
# Every flag can be set as CARTWRIGHT_<FLAG> and a flag given on the command line wins;
# these two win over a configuration file's data_dir and http_listen.
ENV PATH=/usr/local/bin \
    CARTWRIGHT_DATA=/var/lib/cartwright \
    CARTWRIGHT_HTTP_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/cartwright"]
# 8080: /healthz, /readyz, /metrics, the discovery documents and the A2A bridge;
# 9090: /metrics alone, when started with --metrics-listen 0.0.0.0:9090.
EXPOSE 8080 9090
ENTRYPOINT ["cartwright"]
CMD ["serve"]

#!/bin/sh
# Lays out the worker image's whole file system under OUT: a static cartwright binary,
# /etc/passwd and /etc/group with the user cartwright (uid and gid 65532), the CA
# certificates of the build host, and the data directory owned by that user. The
# Dockerfile runs it and copies OUT onto an empty image; run by hand it gives the same
# tree to try with chroot (deploy/README.md).
#
# Usage: deploy/rootfs.sh OUT   (from the repository root; VERSION and CGO_ENABLED from the environment)
set -eu
out=${1:?usage: deploy/rootfs.sh OUT}
cgo=${CGO_ENABLED:-1}
version=${VERSION:-}

# With cgo, Pebble keeps its block cache and memtables in C memory and app/malloc_cgo.go
# caps glibc's malloc arenas; docs/performance.md measured a build without cgo at a
# fraction of the throughput under a Go memory limit. glibc is linked in statically, so
# the image needs no C library; netgo and osusergo keep glibc's NSS (DNS, users) out,
# which a static glibc cannot load. CGO_ENABLED=0 builds where no C toolchain is.
ldflags="-s -w"
if [ -n "$version" ]; then
	ldflags="$ldflags -X main.version=$version"
fi
if [ "$cgo" = 1 ]; then
	ldflags="$ldflags -linkmode=external -extldflags=-static"
fi
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs" "$out/var/lib/cartwright"
CGO_ENABLED=$cgo go build -trimpath -buildvcs=false -tags netgo,osusergo \
	-ldflags "$ldflags" -o "$out/usr/local/bin/cartwright" ./cmd/cartwright

# A static binary that is not one would fail only when the image starts.
if command -v ldd >/dev/null 2>&1 && ldd "$out/usr/local/bin/cartwright" >/dev/null 2>&1; then
	echo "rootfs: $out/usr/local/bin/cartwright is dynamically linked" >&2
	exit 1
fi

printf 'root:x:0:0:root:/root:/sbin/nologin\ncartwright:x:65532:65532:cartwright:/var/lib/cartwright:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\ncartwright:x:65532:\n' >"$out/etc/group"
# Provider adapters call merchants' services over https (docs/providers.md).
cp /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
chown 65532:65532 "$out/var/lib/cartwright" 2>/dev/null || true
chmod 0750 "$out/var/lib/cartwright"

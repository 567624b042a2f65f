#!/usr/bin/env bash
# Builds the example connectors written in other languages into
# target/examples/: Python with componentize-py (from PyPI), JavaScript with
# ComponentizeJS (from npm). Both against contract 0.3.0 (frozen in
# wit/v0.3.0/): `read` takes a `stream-ref`, and the helpers keep state
# (tokens) in the host's `state` import. They stay on it: 0.4.0 only added
# `http.send-batch`, which they do not use, and Ferry loads both.
#
#   plugins/examples/build.sh            # both
#   plugins/examples/build.sh python     # one
#   plugins/examples/build.sh test       # their unit tests (python3, node)
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
    (cd "$src" && "$venv/bin/componentize-py" -d "$root/wit/v0.3.0/connector.wit" -w connector componentize app -o "$out/syncro-python.wasm.tmp")
    mv "$out/syncro-python.wasm.tmp" "$out/syncro-python.wasm"
}

build_js() {
    command -v npm >/dev/null || { echo "npm not found" >&2; return 3; }
    local work="$out/js-build" src="$root/plugins/examples/js-syncro"
    mkdir -p "$work"
    # ComponentizeJS reads the WIT from inside its working directory; only
    # the contract the example is written for (not the others beside it).
    rm -rf "$work/wit"
    mkdir -p "$work/wit"
    cp "$root/wit/v0.3.0/connector.wit" "$work/wit/"
    cp "$src/component.js" "$src/app.js" "$src/ferry_helpers.js" "$src/package.json" "$src/package-lock.json" "$work/"
    if ! cmp -s "$src/package-lock.json" "$work/.installed-lock" 2>/dev/null; then
        # `npm install` (not `ci`): the lock pins versions, and npm 11 wants
        # every platform's optional binaries listed before `ci` accepts it.
        (cd "$work" && npm install --no-audit --no-fund --loglevel=error)
        cp "$src/package-lock.json" "$work/.installed-lock"
    fi
    # component.js is the entry: it hands the host's imports to the helpers.
    (cd "$work" && npx --no-install componentize-js component.js --wit wit --world-name connector \
        --disable http fetch-event -o "$out/syncro-js.wasm.tmp")
    mv "$out/syncro-js.wasm.tmp" "$out/syncro-js.wasm"
}

# Unit tests of the examples outside the component (no componentize needed).
test_examples() {
    (cd "$root/plugins/examples/python-syncro" && python3 -m unittest --quiet)
    (cd "$root/plugins/examples/js-syncro" && node --test)
}

case "$which" in
    test) test_examples ;;
    python) build_python ;;
    js) build_js ;;
    all) build_python; build_js ;;
    *) echo "usage: $0 [python|js|all|test]" >&2; exit 2 ;;
esac

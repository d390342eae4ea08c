#!/usr/bin/env bash
# Build dashboard/assets/plotly-custom-VERSION.min.js: plotly.js with only the traces the
# dashboard draws, at the version the Python plotly package draws with.
#
# Why: the dashboard's first load is mostly the browser's work, and evaluating plotly.js is
# the largest part of it. This bundle draws the same charts as plotly.js's own "cartesian"
# partial bundle at about a quarter of its evaluation time. Needs node and npm (registry
# access); run from anywhere:
#
#     dashboard/plotly_bundle/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="$("$repo/.venv/bin/python" -c 'import plotly.offline as o; print(o.get_plotlyjs_version())')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "plotly.js@$version" >/dev/null
tar xzf "plotly.js-$version.tgz"
cd package
npm install --silent --omit=dev --ignore-scripts --no-audit --no-fund
npm install --silent --no-save --ignore-scripts --no-audit --no-fund \
    esbuild@0.28 esbuild-plugin-environment@0.5 stream-browserify@3
cp "$here/entry.js" "$here/build.mjs" .
rm -f "$repo"/dashboard/assets/plotly-custom-*.min.js
node build.mjs "$repo/dashboard/assets/plotly-custom-$version.min.js"
echo "built dashboard/assets/plotly-custom-$version.min.js"

// esbuild with plotly.js's own settings (its esbuild-config.js), minified, for entry.js.
// Run by build.sh inside the unpacked plotly.js package: node build.mjs OUTFILE
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const { version } = require('./package.json');

await esbuild.build({
    entryPoints: ['./entry.js'],
    outfile: process.argv[2],
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    sourcemap: false,
    // maplibre-gl's stylesheet, which plotly.js requires only for map traces: not inlined.
    loader: { '.css': 'empty' },
    plugins: [environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2016',
    banner: {
        js: `/**\n* plotly.js (lendflow dashboard: scatter, bar, box, heatmap - minified) v${version}\n`
            + '* Copyright 2012-2026, Plotly, Inc.\n* All rights reserved.\n* Licensed under the MIT license\n*/',
    },
    logLevel: 'warning',
});

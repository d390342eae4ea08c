'use strict';
// plotly.js with only the traces the dashboard draws: scatter (always in core), bar, box,
// heatmap. See build.sh.
var Plotly = require('./lib/core');

Plotly.register([require('./lib/bar'), require('./lib/box'), require('./lib/heatmap')]);

module.exports = Plotly;

// Drawing: the loss chart of every run, the selected run's wave, and matrices as heatmaps.
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

// A value in [-1, 1] as a colour: blue for negative, white for 0, red for positive.
function diverging(v) {
  const t = Math.max(-1, Math.min(1, v));
  const a = Math.abs(t);
  const [r, g, b] = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const mix = (c) => Math.round(255 + (c - 255) * a);
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

// A matrix {rows, cols, values} on a canvas: `transpose` draws its rows as columns. Values are
// divided by `scale` (the largest magnitude when not given).
function heatmap(canvas, matrix, { transpose = false, scale, cell = 0 } = {}) {
  const ctx = canvas.getContext("2d");
  const [rows, cols] = transpose ? [matrix.cols, matrix.rows] : [matrix.rows, matrix.cols];
  const at = transpose ? (r, c) => matrix.values[c * matrix.cols + r] : (r, c) => matrix.values[r * matrix.cols + c];
  const s = scale || Math.max(1e-12, ...matrix.values.map(Math.abs));
  const w = cell || Math.max(1, Math.floor(Math.min(900 / cols, 24)));
  const h = cell || Math.max(2, Math.floor(Math.min(300 / rows, 24)));
  canvas.width = cols * w;
  canvas.height = rows * h;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      ctx.fillStyle = diverging(at(r, c) / s);
      ctx.fillRect(c * w, r * h, w, h);
    }
  }
}

// The loss chart: one line per run (its colour), validation dashed, epochs on x, log y.
function lossChart(el, runs) {
  const shown = runs.filter((r) => r.losses.length > 0);
  const n = Math.max(1, ...shown.map((r) => r.losses.length));
  const x = Array.from({ length: n }, (_, i) => i);
  const data = [x];
  const series = [{ label: "epoch" }];
  for (const run of shown) {
    data.push(x.map((i) => (i < run.losses.length ? run.losses[i] : null)));
    series.push({ label: `run ${run.id}`, stroke: run.color, width: 2, points: { show: false } });
    if (run.valid.length > 0) {
      data.push(x.map((i) => (i < run.valid.length ? run.valid[i] : null)));
      series.push({ label: `run ${run.id} valid`, stroke: run.color, dash: [6, 4], width: 1.5, points: { show: false } });
    }
  }
  return { data, series };
}

// The selected run's wave: the truth, the one-step predictions and, for a series, the
// closed-loop forecast of its held-out part, on one axis.
function waveChart(frame, color) {
  const one = frame.one_step;
  const fc = frame.forecast;
  const x = one.axis.concat(fc ? fc.axis : []);
  const pad = (values, before, after) => Array(before).fill(null).concat(values, Array(after).fill(null));
  const m = one.axis.length;
  const k = fc ? fc.axis.length : 0;
  const data = [x, pad(one.actual, 0, k).concat([]), pad(one.predicted, 0, k)];
  if (fc) {
    for (let i = 0; i < k; i++) data[1][m + i] = fc.actual[i];
  }
  const series = [
    { label: "x" },
    { label: "actual", stroke: "#1d2330", width: 1.5, points: { show: m <= 60, size: 7 } },
    { label: "predicted one step ahead", stroke: color, width: 2, points: { show: m <= 60, size: 5 } },
  ];
  if (fc) {
    data.push(pad(fc.predicted, m, 0));
    series.push({ label: "forecast (closed loop)", stroke: "#2ca02c", width: 2, points: { show: false } });
  }
  return { data, series };
}

const HEIGHT = 220;

// A uPlot chart in `el`, rebuilt when its series change, else given new data.
class Chart {
  constructor(el, opts) {
    this.el = el;
    this.opts = opts;
    this.plot = null;
    this.key = "";
    // The chart follows its box's width.
    new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.width(), height: HEIGHT });
    }).observe(el);
  }
  width() {
    return Math.max(240, this.el.clientWidth - 4);
  }
  update({ data, series }) {
    const key = series.map((s) => s.label + s.stroke).join("|");
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    if (this.plot) this.plot.destroy();
    this.key = key;
    this.plot = new uPlot({ width: this.width(), height: HEIGHT, series, ...this.opts }, data, this.el);
  }
  // Non-null points of a series, by label (for tests).
  points(label) {
    if (!this.plot) return 0;
    const i = this.plot.series.findIndex((s) => s.label === label);
    return i < 0 ? 0 : this.plot.data[i].filter((v) => v !== null && v !== undefined).length;
  }
}

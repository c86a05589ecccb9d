// The page: the settings form (kept in the address), the runs and their live events.
"use strict";

const FIELDS = ["data", "d_hidden", "lr", "optimizer", "batch_size", "bptt", "epochs", "seed", "backend", "pace"];
const NUMBERS = new Set(["d_hidden", "lr", "batch_size", "bptt", "epochs", "seed", "pace"]);
const form = document.getElementById("settings");
const state = { options: null, runs: new Map(), focus: null, pending: false };
const lossChart_ = new Chart(document.getElementById("loss-chart"), {
  scales: { x: { time: false }, y: { distr: 3 } },
  axes: [{ label: "epoch" }, { label: "loss" }],
});
const waveChart_ = new Chart(document.getElementById("wave-chart"), {
  scales: { x: { time: false } },
  axes: [{}, { label: "value" }],
});

// --- the form and the address ---------------------------------------------------------------

function readForm() {
  const out = {};
  for (const name of FIELDS) {
    const value = form.elements[name].value;
    out[name] = NUMBERS.has(name) ? Number(value) : value;
  }
  return out;
}

function fillForm(values) {
  for (const name of FIELDS) {
    if (values[name] !== undefined && values[name] !== null) form.elements[name].value = values[name];
  }
}

function keepInAddress() {
  const params = new URLSearchParams();
  for (const name of FIELDS) params.set(name, form.elements[name].value);
  history.replaceState(null, "", "?" + params.toString());
}

function choice(name) {
  return state.options.choices.find((c) => c.name === name);
}

async function load() {
  state.options = await (await fetch("/api/options")).json();
  const data = document.getElementById("data");
  for (const c of state.options.choices) data.add(new Option(c.label, c.name));
  const backend = document.getElementById("backend");
  for (const b of state.options.backends) backend.add(new Option(b, b));
  // Defaults of the data in the address (or the first), then the address's own values.
  const params = new URLSearchParams(location.search);
  const first = choice(params.get("data")) || state.options.choices[0];
  fillForm(first.defaults);
  const given = {};
  for (const name of FIELDS) if (params.has(name)) given[name] = params.get(name);
  fillForm(given);
  keepInAddress();
  data.addEventListener("change", () => {
    fillForm(choice(data.value).defaults);
    keepInAddress();
  });
  form.addEventListener("input", keepInAddress);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    start(readForm());
  });
  // Runs started before this page was opened.
  for (const run of await (await fetch("/api/runs")).json()) follow(run);
}

// --- runs -----------------------------------------------------------------------------------

function showError(message) {
  const el = document.getElementById("error");
  el.textContent = message || "";
  el.hidden = !message;
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(json.error || response.statusText);
  return json;
}

async function start(settings) {
  showError("");
  try {
    follow(await post("/api/runs", settings));
  } catch (err) {
    showError(err.message);
  }
}

// Shows a run and listens to its events.
function follow(summary) {
  const run = {
    id: summary.id,
    form: summary.form,
    summary: summary.summary,
    color: PALETTE[(summary.id - 1) % PALETTE.length],
    losses: [],
    valid: [],
    status: summary.status,
    frame: null,
    files: [],
    message: null,
    ups: 0,
    lr: summary.form.lr,
  };
  state.runs.set(run.id, run);
  card(run);
  focus(run.id);
  const events = new EventSource(`/api/runs/${run.id}/events`);
  events.onmessage = (message) => {
    const u = JSON.parse(message.data);
    run.losses.length = Math.min(run.losses.length, u.from);
    run.losses.push(...u.losses);
    run.valid.length = Math.min(run.valid.length, u.from);
    run.valid.push(...u.valid_losses);
    run.status = u.status;
    run.ups = u.updates_per_second;
    run.lr = u.lr;
    run.files = u.files;
    run.message = u.message;
    if (u.frame) run.frame = u.frame;
    if (["finished", "stopped", "failed"].includes(u.status)) events.close();
    redraw();
  };
}

function card(run) {
  const li = document.createElement("li");
  li.id = `run-${run.id}`;
  li.style.setProperty("--run", run.color);
  const f = run.form;
  li.innerHTML = `<div class="title">run ${run.id}: lr ${f.lr}, hidden ${f.d_hidden}, ${f.optimizer}</div>
    <div class="message summary"></div>
    <div class="numbers"><span class="status"></span> · epoch <span class="epoch">0</span>/${f.epochs}
    · loss <span class="loss">–</span> · <span class="ups">0</span> updates/s</div>
    <div class="buttons"><button data-do="pause">Pause</button><button data-do="resume">Resume</button><button data-do="stop">Stop</button></div>
    <div class="message end"></div><div class="files"></div>`;
  li.querySelector(".summary").textContent = run.summary;
  li.addEventListener("click", (e) => {
    const action = e.target.dataset && e.target.dataset.do;
    if (action) {
      e.stopPropagation();
      post(`/api/runs/${run.id}/${action}`).catch((err) => showError(err.message));
    } else {
      focus(run.id);
    }
  });
  document.getElementById("runs").prepend(li);
}

function focus(id) {
  state.focus = id;
  for (const li of document.querySelectorAll("#runs li")) li.classList.toggle("focus", li.id === `run-${id}`);
  redraw();
}

// --- drawing, at most once per animation frame ----------------------------------------------

function redraw() {
  if (state.pending) return;
  state.pending = true;
  requestAnimationFrame(() => {
    state.pending = false;
    draw();
  });
}

function draw() {
  const runs = [...state.runs.values()];
  lossChart_.update(lossChart(document.getElementById("loss-chart"), runs));
  for (const run of runs) updateCard(run);
  const run = state.runs.get(state.focus);
  if (!run || !run.frame) return;
  const frame = run.frame;
  waveChart_.update(waveChart(frame, run.color));
  document.getElementById("wave-title").textContent =
    `One-step-ahead predictions of run ${run.id} after epoch ${frame.epoch}` + (frame.forecast ? ", and its closed-loop forecast of the held-out part" : "");
  heatmap(document.getElementById("contexts"), frame.contexts, { transpose: true, scale: 1 });
  const scale = Math.max(1e-12, ...frame.w1.values.map(Math.abs), ...frame.w2.values.map(Math.abs));
  const cell = Math.max(3, Math.min(24, Math.floor(300 / frame.w1.rows)));
  heatmap(document.getElementById("w1"), frame.w1, { scale, cell });
  heatmap(document.getElementById("w2"), frame.w2, { scale, cell });
  const cut = frame.w1.shape[0] > frame.w1.rows || frame.w1.shape[1] > frame.w1.cols;
  document.getElementById("weights-note").textContent =
    `Shared colour scale: ±${scale.toPrecision(3)}.` + (cut ? ` Showing the top-left ${frame.w1.rows}×${frame.w1.cols} of ${frame.w1.shape[0]}×${frame.w1.shape[1]}.` : "");
}

function updateCard(run) {
  const li = document.getElementById(`run-${run.id}`);
  const ended = ["finished", "stopped", "failed"].includes(run.status);
  li.dataset.status = run.status;
  li.dataset.epochs = String(run.losses.length);
  li.querySelector(".status").textContent = run.status;
  li.querySelector(".epoch").textContent = String(run.losses.length);
  const last = run.losses[run.losses.length - 1];
  const loss = li.querySelector(".loss");
  // The final loss in full, as `elman train` writes it; while training, fewer digits.
  loss.textContent = last === undefined ? "–" : ended ? String(last) : last.toPrecision(5);
  loss.dataset.value = last === undefined ? "" : String(last);
  li.querySelector(".ups").textContent = Math.round(run.ups).toLocaleString("en");
  li.querySelector(".end").textContent = ended && run.message ? run.message : "";
  for (const b of li.querySelectorAll("button")) b.disabled = ended;
  li.querySelector('[data-do="pause"]').hidden = run.status === "paused";
  li.querySelector('[data-do="resume"]').hidden = run.status !== "paused";
  const files = li.querySelector(".files");
  if (files.childElementCount !== run.files.length) {
    files.replaceChildren(
      ...run.files.map((name) => {
        const a = document.createElement("a");
        a.href = `/api/runs/${run.id}/files/${encodeURIComponent(name)}`;
        a.textContent = name;
        if (!name.endsWith(".png")) a.download = name;
        return a;
      }),
    );
  }
}

// For tests: how many epochs of a run the loss chart holds, and how many runs it shows.
window.elman = {
  chartEpochs: (id) => lossChart_.points(`run ${id}`),
  chartRuns: () => (lossChart_.plot ? lossChart_.plot.series.filter((s) => /^run \d+$/.test(s.label)).length : 0),
};

load().catch((err) => showError(`cannot load the page's options: ${err.message}`));

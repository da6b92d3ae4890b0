// The vkcnn dashboard: follows runs through server-sent events and draws
// them. Plain JavaScript, no build step; uPlot draws the charts.
"use strict";
(function () {
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const GRID_IMAGES = 40; // test images shown with their predictions
  const EXAMPLES = 24; // examples shown for a confusion-matrix cell
  const $ = (id) => document.getElementById(id);

  let allRuns = []; // the run list from the server
  let selected = []; // names of the runs shown, the first in detail
  const runs = new Map(); // name -> state
  let source = null; // the EventSource
  let charts = null; // the uPlot charts, rebuilt when the selection changes
  let renderTimer = 0;
  let lastRender = 0;
  let picked = null; // the confusion-matrix cell clicked: [true, predicted]
  let tilesFor = ""; // the run whose images the grid holds

  function newRun(name) {
    return { name, settings: null, started: 0, samples: [], epochs: [], detail: null, end: null, lastT: 0 };
  }

  // apply folds one event into a run's state.
  function apply(r, ev) {
    if (ev.t) r.lastT = ev.t;
    switch (ev.type) {
      case "settings":
        if (!r.started) r.started = ev.t;
        r.settings = ev;
        r.end = null;
        if (ev.first_epoch > 0) {
          // A resumed run redoes its unfinished epoch.
          r.samples = r.samples.filter((s) => s.epoch < ev.first_epoch);
          r.epochs = r.epochs.filter((e) => e.epoch < ev.first_epoch);
        }
        break;
      case "sample":
        r.samples.push(ev);
        break;
      case "epoch": {
        const i = r.epochs.findIndex((e) => e.epoch === ev.epoch);
        if (i >= 0) r.epochs[i] = ev; else r.epochs.push(ev);
        r.epochs.sort((a, b) => a.epoch - b.epoch);
        if (ev.confusion || ev.gallery_predictions || ev.filters) r.detail = ev;
        break;
      }
      case "end":
        r.end = ev;
        break;
    }
  }

  // ---- connection ----

  function connect() {
    if (source) source.close();
    for (const name of [...runs.keys()]) if (!selected.includes(name)) runs.delete(name);
    if (!selected.length) { render(); return; }
    const q = selected.map((n) => "run=" + encodeURIComponent(n)).join("&");
    source = new EventSource("api/events?" + q);
    setConn("connecting…");
    source.onopen = () => setConn("live");
    source.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      let r = runs.get(msg.run);
      if (!r || msg.replay) { r = newRun(msg.run); runs.set(msg.run, r); }
      for (const ev of msg.events) apply(r, ev);
      scheduleRender();
    };
    source.onerror = () => {
      const ended = selected.every((n) => runs.get(n) && runs.get(n).end);
      if (ended && source.readyState !== EventSource.OPEN) {
        // The training finished and its server stopped: nothing more will come.
        source.close();
        setConn("the run has ended and its server has stopped");
      } else {
        setConn("reconnecting…");
      }
    };
  }

  function setConn(text) { $("conn").textContent = text; }

  // ---- the run list (several runs: `vkcnn serve`) ----

  async function loadRuns() {
    try {
      const res = await fetch("api/runs", { cache: "no-store" });
      allRuns = (await res.json()).runs || [];
    } catch (e) {
      return;
    }
    const fromHash = decodeHash();
    const names = new Set(allRuns.map((r) => r.name));
    const want = (fromHash.length ? fromHash : selected).filter((n) => names.has(n));
    if (!want.length && allRuns.length) want.push(allRuns[0].name);
    drawRunList();
    if (want.join("\n") !== selected.join("\n")) select(want);
  }

  function decodeHash() {
    const m = /(?:^#|&)runs=([^&]*)/.exec(location.hash);
    return m ? m[1].split(",").filter(Boolean).map(decodeURIComponent) : [];
  }

  function select(names) {
    selected = names.slice(0, 8);
    const hash = "#runs=" + selected.map(encodeURIComponent).join(",");
    if (location.hash !== hash) history.replaceState(null, "", hash);
    drawRunList();
    charts = destroyCharts(charts);
    picked = null;
    connect();
    render();
  }

  function drawRunList() {
    const nav = $("runs");
    nav.hidden = allRuns.length < 2;
    const ul = $("run-list");
    ul.replaceChildren();
    for (const info of allRuns) {
      const li = document.createElement("li");
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = selected.includes(info.name);
      box.dataset.run = info.name;
      box.addEventListener("change", () => {
        const next = selected.filter((n) => n !== info.name);
        if (box.checked) next.push(info.name);
        select(next);
      });
      const sw = document.createElement("span");
      sw.className = "swatch";
      const k = selected.indexOf(info.name);
      sw.style.background = k >= 0 ? COLORS[k % COLORS.length] : "transparent";
      const name = document.createElement("span");
      name.textContent = info.name;
      const st = document.createElement("small");
      st.textContent = info.status ? " " + info.status : "";
      label.append(box, sw, name, st);
      li.append(label);
      ul.append(li);
    }
  }

  // ---- drawing ----

  function scheduleRender() {
    if (renderTimer) return;
    // At most two renders a second: the page stays cheap for the machine
    // that trains, whatever the rate of events.
    const wait = Math.max(0, 500 - (Date.now() - lastRender));
    renderTimer = setTimeout(() => { renderTimer = 0; render(); }, wait);
  }

  function render() {
    lastRender = Date.now();
    const r = runs.get(selected[0]);
    $("run-name").textContent = selected[0] || "";
    document.title = (selected[0] ? selected[0] + " – " : "") + "vkcnn dashboard";
    renderStats(r);
    renderCharts();
    renderGrid(r);
    renderConfusion(r);
    renderFilters(r);
    renderSettings(r);
  }

  function status(r) {
    if (!r) return "";
    if (r.end) return r.end.status;
    return r.settings ? "running" : "";
  }

  function fmt(x, digits) {
    return x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(digits);
  }

  function duration(s) {
    if (!isFinite(s) || s < 0) return "–";
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + sec + "s";
  }

  function renderStats(r) {
    const st = status(r);
    const badge = $("status");
    badge.textContent = st;
    badge.className = "badge " + st;
    if (!r) return;
    const s = r.settings || {};
    const last = r.samples[r.samples.length - 1];
    const lastEpoch = r.epochs[r.epochs.length - 1];
    const total = Math.ceil(s.epochs || (lastEpoch ? lastEpoch.epoch + 1 : 0)); // a run of 9.9 epochs has 10
    const done = lastEpoch ? lastEpoch.epoch + 1 : 0;
    // The epoch being trained, counted from 1, or the last one once the
    // run is over.
    const shown = r.end || (total && done >= total) ? done : done + 1;
    const inEpoch = last && !r.end && last.epoch >= done; // the last sample is of the epoch in training
    const ep = $("epoch");
    ep.textContent = total ? shown + " / " + total : String(shown || "–");
    ep.dataset.done = String(done);
    if (inEpoch) {
      $("images").textContent = last.images + " / " + last.total;
      $("bar").value = last.images / last.total;
    } else {
      $("images").textContent = last && r.end ? "done" : "–";
      $("bar").value = r.end ? 1 : 0;
    }
    $("loss").textContent = last ? fmt(last.loss, 4) : lastEpoch ? fmt(lastEpoch.train_loss, 4) : "–";
    $("accuracy").textContent = lastEpoch ? fmt(lastEpoch.test_accuracy, 2) + " %" : "–";
    $("lr").textContent = last && last.lr !== null ? String(+last.lr.toPrecision(4)) : s.flags && s.flags.lr ? s.flags.lr : "–";
    const recent = r.samples.slice(-4).filter((x) => x.ips > 0);
    const ips = recent.length ? recent.reduce((a, x) => a + x.ips, 0) / recent.length : lastEpoch ? lastEpoch.images_per_second : 0;
    $("ips").textContent = ips ? fmt(ips, 0) : "–";
    if (r.end) {
      $("eta").textContent = r.end.status;
    } else if (last && ips && total) {
      const left = inEpoch ? (total - last.epoch - 1) * last.total + (last.total - last.images) : (total - done) * last.total;
      $("eta").textContent = duration(left / ips);
    } else {
      $("eta").textContent = "–";
    }
    const end = r.end ? r.end.t : Math.max(r.lastT, Date.now() / 1000);
    $("elapsed").textContent = r.started ? duration(end - r.started) : "–";
  }

  // ---- charts ----

  function destroyCharts(c) {
    if (c) for (const k in c) c[k].plot.destroy();
    return null;
  }

  // join puts the runs' [x, y...] tables on one x axis, with null where a
  // run has no value at another's x.
  function join(tables) {
    const xs = [...new Set(tables.flatMap((t) => t[0]))].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const out = [xs];
    for (const t of tables) {
      for (let k = 1; k < t.length; k++) {
        const col = new Array(xs.length).fill(null);
        t[0].forEach((x, i) => { col[at.get(x)] = t[k][i]; });
        out.push(col);
      }
    }
    return out;
  }

  // drawn remembers what each panel last drew, so a render redraws only
  // what changed (and a click or a hover is not lost to a redraw).
  const drawn = {};
  function changed(panel, key) {
    if (drawn[panel] === key) return false;
    drawn[panel] = key;
    return true;
  }

  // tick labels an axis compactly, with enough digits to tell ticks apart.
  function tick(v) {
    if (v === null || v === undefined) return "";
    const a = Math.abs(v);
    if (a >= 1e6) return +(v / 1e6).toPrecision(3) + "M";
    if (a >= 1e4) return +(v / 1e3).toPrecision(3) + "k";
    if (a !== 0 && a < 1e-3) return v.toExponential(1);
    return String(+v.toPrecision(4));
  }

  function series(name, color, dash) {
    return { label: name, stroke: color, width: 1.5, dash: dash, spanGaps: true, points: { show: true, size: 4 } };
  }

  function renderCharts() {
    const rs = selected.map((n) => runs.get(n)).filter(Boolean);
    if (!rs.length) return;
    const color = (i) => COLORS[selected.indexOf(rs[i].name) % COLORS.length];
    const x = (s) => s.epoch + s.images / s.total;
    const sampleTable = (r, f) => {
      const xs = [], ys = [];
      for (const s of r.samples) { xs.push(x(s)); ys.push(f(s)); }
      return [xs, ys];
    };
    const defs = {
      loss: { tables: rs.map((r) => sampleTable(r, (s) => s.loss)), series: rs.map((r, i) => series(r.name, color(i))) },
      acc: {
        tables: rs.map((r) => [r.epochs.map((e) => e.epoch + 1), r.epochs.map((e) => e.test_accuracy), r.epochs.map((e) => e.train_accuracy)]),
        series: rs.flatMap((r, i) => [series(r.name + " test", color(i)), series(r.name + " training", color(i), [5, 4])]),
      },
      lr: { tables: rs.map((r) => sampleTable(r, (s) => s.lr)), series: rs.map((r, i) => series(r.name, color(i))) },
      ips: { tables: rs.map((r) => sampleTable(r, (s) => s.ips)), series: rs.map((r, i) => series(r.name, color(i))) },
    };
    if (!charts) charts = {};
    for (const key in defs) {
      const d = defs[key];
      const fig = $("chart-" + key);
      const data = join(d.tables);
      const points = data.slice(1).reduce((n, col) => n + col.filter((v) => v !== null).length, 0);
      fig.dataset.points = String(points);
      if (!charts[key]) {
        const width = Math.max(300, fig.clientWidth - 20);
        const opts = {
          width, height: 220,
          scales: { x: { time: false } },
          axes: [
            key === "acc" ? { label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : { label: "epoch" },
            { values: (u, splits) => splits.map(tick), size: 56 },
          ],
          series: [{ label: "epoch" }, ...d.series],
          legend: { show: rs.length > 1 || key === "acc" },
        };
        charts[key] = { plot: new uPlot(opts, data, fig), fig };
      } else {
        charts[key].plot.setData(data);
      }
    }
  }

  window.addEventListener("resize", () => {
    if (!charts) return;
    for (const k in charts) charts[k].plot.setSize({ width: Math.max(300, charts[k].fig.clientWidth - 20), height: 220 });
  });

  // ---- test images ----

  function className(r, k) {
    const cs = r.settings && r.settings.classes;
    return cs && cs[k] !== undefined ? cs[k] : "class " + k;
  }

  function tile(r, i, pred) {
    const truth = r.settings.gallery_labels[i];
    const div = document.createElement("div");
    const img = document.createElement("img");
    img.src = "api/runs/" + encodeURIComponent(r.name) + "/images/" + i;
    img.alt = "test image " + i;
    img.loading = "lazy";
    // Runs recorded before the settings had the shape are 3x32x32.
    const shape = r.settings.image || { channels: 3, height: 32, width: 32 };
    if (Math.max(shape.height, shape.width) > 64) img.className = "smooth";
    const p = document.createElement("span");
    p.className = "pred";
    const t = document.createElement("span");
    t.className = "true";
    const mark = document.createElement("span");
    mark.className = "mark";
    div.append(img, p, t, mark);
    setTile(r, div, i, pred, truth);
    return div;
  }

  function setTile(r, div, i, pred, truth) {
    const known = pred !== undefined && pred !== null;
    const wrong = known && pred !== truth;
    div.className = "tile " + (known ? (wrong ? "wrong" : "right") : "");
    div.querySelector(".pred").textContent = known ? className(r, pred) : "…";
    div.querySelector(".true").textContent = className(r, truth);
    div.querySelector(".mark").textContent = wrong ? "✗" : "";
    div.title = "test image " + i + ": predicted " + (known ? className(r, pred) : "not yet") + ", true " + className(r, truth);
  }

  function renderGrid(r) {
    const grid = $("grid");
    if (!r || !r.settings || !r.settings.gallery_labels) {
      grid.replaceChildren();
      tilesFor = "";
      return;
    }
    const preds = r.detail && r.detail.gallery_predictions;
    const n = Math.min(GRID_IMAGES, r.settings.gallery_labels.length);
    if (tilesFor !== r.name || grid.children.length !== n) {
      grid.replaceChildren();
      for (let i = 0; i < n; i++) grid.append(tile(r, i, preds ? preds[i] : null));
      tilesFor = r.name;
    } else {
      for (let i = 0; i < n; i++) setTile(r, grid.children[i], i, preds ? preds[i] : null, r.settings.gallery_labels[i]);
    }
    $("pred-epoch").textContent = r.detail ? "after epoch " + (r.detail.epoch + 1) : "(after the first epoch)";
  }

  // ---- confusion matrix ----

  function renderConfusion(r) {
    const table = $("confusion");
    const m = r && r.detail && r.detail.confusion;
    if (!m) {
      table.replaceChildren();
      $("conf-epoch").textContent = "";
      $("examples").replaceChildren();
      drawn.confusion = "";
      return;
    }
    if (!changed("confusion", r.name + "/" + r.detail.t + "/" + picked)) return;
    $("conf-epoch").textContent = "after epoch " + (r.detail.epoch + 1);
    const head = document.createElement("thead");
    const hr = document.createElement("tr");
    hr.append(document.createElement("th"));
    m.forEach((_, j) => { const th = document.createElement("th"); th.textContent = className(r, j); hr.append(th); });
    head.append(hr);
    const body = document.createElement("tbody");
    m.forEach((row, i) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = className(r, i);
      tr.append(th);
      const sum = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((n, j) => {
        const td = document.createElement("td");
        td.textContent = n;
        td.tabIndex = 0;
        td.dataset.true = i;
        td.dataset.pred = j;
        const a = n / sum;
        td.style.background = i === j ? `rgba(44,160,44,${a})` : `rgba(214,39,40,${Math.min(1, 2 * a)})`;
        if (a > 0.55) td.style.color = "#fff";
        if (picked && picked[0] === i && picked[1] === j) td.classList.add("selected");
        td.title = className(r, i) + " predicted as " + className(r, j) + ": " + n;
        td.addEventListener("click", () => { picked = [i, j]; renderConfusion(r); });
        td.addEventListener("keydown", (e) => { if (e.key === "Enter") { picked = [i, j]; renderConfusion(r); } });
        tr.append(td);
      });
      body.append(tr);
    });
    table.replaceChildren(head, body);
    renderExamples(r);
  }

  function renderExamples(r) {
    const box = $("examples");
    if (!picked || !r.detail.gallery_predictions) {
      box.replaceChildren();
      return;
    }
    const [ti, pj] = picked;
    const labels = r.settings.gallery_labels, preds = r.detail.gallery_predictions;
    const hits = [];
    for (let i = 0; i < labels.length && hits.length < EXAMPLES; i++) if (labels[i] === ti && preds[i] === pj) hits.push(i);
    $("examples-title").textContent = "True " + className(r, ti) + ", predicted " + className(r, pj);
    $("examples-note").textContent = r.detail.confusion[ti][pj] + " test images in all; " +
      (hits.length ? "examples among the first " + labels.length + ":" : "none among the first " + labels.length + ".");
    box.replaceChildren(...hits.map((i) => tile(r, i, preds[i])));
  }

  // ---- filters ----

  function renderFilters(r) {
    const canvas = $("filters");
    const f = r && r.detail && r.detail.filters;
    if (!f || f.shape.length !== 4 || f.data.length !== f.shape.reduce((a, b) => a * b, 1)) {
      drawn.filters = "";
      canvas.width = canvas.height = 0;
      $("filters-name").textContent = "";
      return;
    }
    if (!changed("filters", r.name + "/" + r.detail.t)) return;
    const [o, c, kh, kw] = f.shape;
    $("filters-name").textContent = f.name + " [" + f.shape.join(", ") + "]" + (c === 3 ? "" : ", mean over input channels");
    const scale = Math.max(3, Math.floor(40 / Math.max(kh, kw)));
    const cols = Math.min(o, 16), gap = 4;
    canvas.width = cols * (kw * scale + gap);
    canvas.height = Math.ceil(o / cols) * (kh * scale + gap);
    const g = canvas.getContext("2d");
    let peak = 0;
    for (const v of f.data) peak = Math.max(peak, Math.abs(v));
    peak = peak || 1;
    // Weights map to 0-255 around mid grey, all filters on one scale, so
    // their strengths compare.
    const px = (v) => Math.round(127.5 + 127.5 * v / peak);
    for (let k = 0; k < o; k++) {
      const x0 = (k % cols) * (kw * scale + gap), y0 = Math.floor(k / cols) * (kh * scale + gap);
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const at = (ch) => f.data[((k * c + ch) * kh + y) * kw + x];
          let rgb;
          if (c === 3) {
            rgb = [px(at(0)), px(at(1)), px(at(2))];
          } else {
            let s = 0;
            for (let ch = 0; ch < c; ch++) s += at(ch);
            const v = px(s / c);
            rgb = [v, v, v];
          }
          g.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
          g.fillRect(x0 + x * scale, y0 + y * scale, scale, scale);
        }
      }
    }
  }

  // ---- settings ----

  function renderSettings(r) {
    const table = $("settings");
    const s = r && r.settings;
    if (!s) {
      table.replaceChildren();
      $("arch").textContent = "";
      drawn.settings = "";
      return;
    }
    if (!changed("settings", r.name + "/" + s.t + "/" + r.started)) return;
    const rows = [
      ["run", s.run],
      ["command", s.command],
      ["network", s.arch + (s.params ? " (" + s.params.toLocaleString("en") + " trainable parameters)" : "")],
      ["device", s.device],
      ["data", s.data + " (" + s.train_images + " training, " + s.test_images + " test images" +
        (s.image ? " of " + s.image.channels + "x" + s.image.height + "x" + s.image.width : "") + ")"],
      ["epochs", s.epochs + (s.first_epoch ? " (resumed at epoch " + s.first_epoch + ")" : "")],
      ["batch size", s.batch_size],
      ["started", r.started ? new Date(r.started * 1000).toLocaleString() : ""],
    ];
    if (s.flags) rows.push(["flags", Object.keys(s.flags).sort().map((k) => "--" + k + "=" + s.flags[k]).join(" ")]);
    table.replaceChildren(...rows.filter((x) => x[1] !== undefined && x[1] !== "").map(([k, v]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = k;
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.append(th, td);
      return tr;
    }));
    $("arch").textContent = s.arch_text || "";
  }

  // ---- start ----

  window.addEventListener("hashchange", () => {
    const want = decodeHash();
    if (want.length && want.join("\n") !== selected.join("\n")) select(want);
  });
  setInterval(() => { if (runs.size) renderStats(runs.get(selected[0])); }, 1000);
  setInterval(loadRuns, 10000);
  loadRuns();
})();

/* aligned docs: the Monitoring view, drawn from target/monitoring.json (`aligned monitor`).
 *
 * Per model: one small SVG line chart per metric over the windows (a line per model
 * version, alert bounds dashed, windows where an alert fired marked red), a PSI
 * heat-strip per input feature and window (click a cell for its bins), and the alerts.
 * app.js creates the view with its helpers; no dependencies and no build step.
 */
(function () {
  "use strict";

  const PSI_SHIFT = 0.2; // the usual reading: above 0.2 a distribution has shifted
  const PSI_MODERATE = 0.1;
  const VERSION_COLORS = ["#4f46e5", "#0d9488", "#d97706", "#7c3aed", "#0284c7", "#db2777", "#65a30d", "#475569"];
  const METRIC_ORDER = ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "mae", "rmse", "bias", "count", "prediction_psi"];
  const METRIC_LABELS = {
    accuracy: "Accuracy", precision: "Precision", recall: "Recall", f1: "F1", roc_auc: "ROC AUC",
    log_loss: "Log loss", mae: "MAE", rmse: "RMSE", bias: "Bias", count: "Predictions",
    prediction_psi: "Prediction drift (PSI)", psi: "PSI",
  };
  const CHART = { height: 150, top: 12, right: 14, bottom: 24, left: 42 };
  const BINS = { height: 150, top: 12, right: 10, bottom: 26, left: 36 };
  const ALERT_ROWS = 12; // alerts listed before "show all"
  const COMPACT_COLUMNS = 30; // more windows than this: PSI cells without numbers

  // ------------------------------------------------------------ formatting
  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en");
    return String(Number(value.toPrecision(3)));
  }

  function fmtPsi(value) {
    return value >= 10 ? value.toFixed(0) : value.toFixed(2);
  }

  function metricLabel(metric, feature) {
    const base = METRIC_LABELS[metric] || metric;
    return feature ? `${base} · ${feature.split(":").pop()}` : base;
  }

  function psiClass(value) {
    if (value > PSI_SHIFT) return "psi-high";
    return value > PSI_MODERATE ? "psi-mid" : "psi-low";
  }

  function psiReading(value) {
    if (value > PSI_SHIFT) return "significant shift";
    return value > PSI_MODERATE ? "moderate shift" : "stable";
  }

  function bound(alert) {
    const parts = [];
    if (alert.min !== null && alert.min !== undefined) parts.push(`≥ ${fmt(alert.min)}`);
    if (alert.max !== null && alert.max !== undefined) parts.push(`≤ ${fmt(alert.max)}`);
    return parts.join(" and ");
  }

  function niceTicks(lo, hi, count) {
    if (lo === hi) {
      const pad = Math.abs(lo) * 0.1 || 1;
      lo -= pad;
      hi += pad;
    }
    const raw = (hi - lo) / count;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
    const start = Math.floor(lo / step) * step;
    const ticks = [];
    for (let t = start; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
    return ticks;
  }

  // ------------------------------------------------------------ the view
  window.alignedMonitoring = function create(ctx) {
    const { data, el, svg, badge, select, duration, onLineage } = ctx;
    const report = data.monitoring;
    const M = data.manifest;
    const windowSeconds = report.window_seconds;
    const withTime = windowSeconds % 86400 !== 0;
    const byUid = {};
    report.models.forEach((m) => { byUid[m.unique_id] = m; });

    const layout = document.querySelector("main.layout");
    const section = document.getElementById("monitoring");
    const tabs = document.getElementById("view-tabs");
    let current = null; // the model shown
    let redraw = []; // chart painters to re-run when the width changes

    function when(iso) {
      // Windows are UTC: "Feb 9", or "Feb 9 16:00" for windows shorter than a day.
      const date = new Date(iso);
      const day = date.toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
      return withTime ? `${day} ${date.toISOString().slice(11, 16)}` : day;
    }

    function versionName(version) {
      return version === null || version === undefined ? "all predictions" : version;
    }

    function alertKey(metric, feature, windowStart, version) {
      return [metric, feature || "", Date.parse(windowStart), version || ""].join("|");
    }

    // ---------------------------------------------------------- tabs and routing
    const totalAlerts = report.models.reduce((n, m) => n + m.alerts.length, 0);
    const failing = report.models.some((m) => m.status === "fail" || m.status === "error");
    tabs.hidden = false;
    const monTab = tabs.querySelector('[data-view="monitoring"]');
    if (totalAlerts) monTab.append(el("span", { class: `tab-count ${failing ? "bad" : "warn"}`, text: String(totalAlerts) }));
    tabs.querySelectorAll(".view-tab").forEach((tab) => tab.addEventListener("click", () => {
      if (tab.dataset.view === "monitoring") open(current || null);
      else close(true);
    }));

    function setTab(name) {
      tabs.querySelectorAll(".view-tab").forEach((t) => t.classList.toggle("active", t.dataset.view === name));
    }

    function isOpen() {
      return !section.hidden;
    }

    function open(uid) {
      const model = byUid[uid] || current || report.models[0] || null;
      layout.hidden = true;
      section.hidden = false;
      setTab("monitoring");
      render(model);
      history.replaceState(null, "", model ? `#monitoring/${encodeURIComponent(model.unique_id)}` : "#monitoring");
    }

    function close(updateHash) {
      if (!isOpen()) return;
      section.hidden = true;
      layout.hidden = false;
      setTab("lineage");
      if (updateHash) history.replaceState(null, "", location.pathname + location.search);
      onLineage();
    }

    function route(hash) {
      const [, uid] = hash.split("/");
      open(uid ? decodeURIComponent(uid) : null);
    }

    let resizing = null;
    window.addEventListener("resize", () => {
      if (!isOpen()) return;
      clearTimeout(resizing);
      resizing = setTimeout(() => redraw.forEach((paint) => paint()), 100);
    });

    // ---------------------------------------------------------- page
    function render(model) {
      current = model;
      redraw = [];
      const when0 = new Date(report.metadata.generated_at).toLocaleString();
      const since = report.since_seconds ? ` · since ${duration(report.since_seconds)} ago` : "";
      const head = el("div", { class: "mon-page-head" }, [
        el("h1", { text: "Monitoring" }),
        el("span", { class: "muted", text: `last aligned monitor ${when0} · ${duration(windowSeconds)} windows${since} · target ${report.metadata.target || "default"}` }),
      ]);
      const nav = el("nav", { class: "mon-models", "aria-label": "Monitored models" });
      report.models.forEach((m) => {
        const cls = `mon-model-item${model && m.unique_id === model.unique_id ? " selected" : ""}`;
        nav.append(el("button", { class: cls, type: "button", "data-id": m.unique_id, onclick: () => open(m.unique_id) }, [
          el("span", { class: "name", text: m.model }),
          el("span", { class: "sub" }, [badge(m.status), ` ${m.alerts.length ? `${m.alerts.length} alert${m.alerts.length === 1 ? "" : "s"}` : "no alerts"}`]),
        ]));
      });
      const body = el("div", { class: "mon-body" });
      section.replaceChildren(el("div", { class: "mon-shell" }, [head, nav, body]));
      if (!model) {
        body.append(el("p", { class: "muted", text: "No model declares `predictions:`; nothing was monitored." }));
        return;
      }
      body.dataset.model = model.model;
      body.append(...modelPanel(model));
      redraw.forEach((paint) => paint()); // now that the cards have a width
      section.scrollTop = 0;
    }

    function modelPanel(model) {
      const def = M.models[model.model] || {};
      const thresholds = def.alerts || {};
      const windows = model.windows.slice().sort((a, b) => Date.parse(a.window_start) - Date.parse(b.window_start)
        || String(a.model_version).localeCompare(String(b.model_version), undefined, { numeric: true }));
      const versions = [...new Set(windows.map((w) => w.model_version))]
        .sort((a, b) => String(a).localeCompare(String(b), undefined, { numeric: true }));
      const color = {};
      versions.forEach((v, i) => { color[v] = VERSION_COLORS[i % VERSION_COLORS.length]; });
      const fired = new Set(model.alerts.map((a) => alertKey(a.metric, a.feature, a.window_start, a.model_version)));
      const info = { model, windows, versions, color, fired, thresholds };

      const out = [summary(info)];
      if (model.message) out.push(el("div", { class: `mon-callout ${model.status === "error" ? "bad" : "warn"}`, text: model.message }));
      if (!windows.length) {
        out.push(el("p", { class: "mon-empty", text: "No predictions fell in the monitored period." }));
        return out;
      }
      out.push(alertsBlock(info), chartsBlock(info), driftBlock(info));
      return out;
    }

    function summary(info) {
      const { model, windows, versions } = info;
      const first = windows[0];
      const last = windows[windows.length - 1];
      const predictions = windows.reduce((n, w) => n + w.count, 0);
      const labelled = windows.reduce((n, w) => n + w.labelled, 0);
      const facts = [
        ["kind", model.kind],
        ["windows", windows.length ? `${new Set(windows.map((w) => w.window_start)).size} · ${when(first.window_start)} – ${when(last.window_start)} UTC` : "none"],
        ["predictions", `${predictions.toLocaleString("en")} (${labelled.toLocaleString("en")} labelled)`],
        ["versions", versions.map(versionName).join(", ") || "–"],
        ["labels after", model.label_delay ? duration(model.label_delay) : "immediately"],
        ["drift against", model.reference || "–"],
      ];
      return el("header", { class: "mon-head" }, [
        el("div", { class: "mon-title" }, [
          el("span", { class: "kind-badge model", text: "model" }),
          el("h2", { text: model.model }),
          badge(model.status),
          el("a", { class: "link mon-lineage", text: "Show in lineage →", onclick: () => select(model.unique_id) }),
        ]),
        el("dl", { class: "mon-facts" }, facts.map(([k, v]) => el("div", {}, [el("dt", { text: k }), el("dd", { text: v })]))),
      ]);
    }

    // ---------------------------------------------------------- alerts
    function alertsBlock(info) {
      const { model } = info;
      const block = el("section", { class: "mon-block mon-alerts" }, [el("h3", { text: `Alerts (${model.alerts.length})` })]);
      if (!model.alerts.length) {
        block.append(el("p", { class: "muted" }, [badge("pass", "pass"), " No alert fired in these windows."]));
        return block;
      }
      const alerts = model.alerts.slice().sort((a, b) => Date.parse(b.window_start) - Date.parse(a.window_start)
        || (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
      const table = el("table", { class: "table" }, [el("tr", {}, ["severity", "metric", "window", "version", "value", "expected"].map((h) => el("th", { text: h })))]);
      alerts.forEach((a, i) => {
        const row = el("tr", { class: "clickable", "data-metric": a.metric, onclick: () => reveal(a) }, [
          el("td", {}, [badge(a.severity === "error" ? "fail" : "warn", a.severity)]),
          el("td", { text: metricLabel(a.metric, a.feature) }),
          el("td", { text: when(a.window_start) }),
          el("td", { text: a.model_version || "–" }),
          el("td", { class: "mono alert-value", text: String(Number(a.value.toPrecision(4))) }),
          el("td", { class: "mono", text: bound(a) }),
        ]);
        if (i >= ALERT_ROWS) row.hidden = true;
        table.append(row);
      });
      block.append(table);
      if (alerts.length > ALERT_ROWS) {
        const more = el("button", { class: "mon-more", type: "button", text: `Show all ${alerts.length} alerts` });
        more.addEventListener("click", () => { table.querySelectorAll("tr[hidden]").forEach((r) => { r.hidden = false; }); more.remove(); });
        block.append(more);
      }
      return block;
    }

    function reveal(alert) {
      // Scroll to the chart or PSI cell an alert is about, and flash it.
      const target = alert.metric === "psi"
        ? section.querySelector(`td.psi[data-feature="${CSS.escape(alert.feature)}"][data-window="${Date.parse(alert.window_start)}"][data-version="${CSS.escape(alert.model_version || "")}"]`)
        : section.querySelector(`.chart-card[data-metric="${CSS.escape(alert.metric)}"]`);
      if (!target) return;
      if (target.matches("td.psi")) target.click();
      target.scrollIntoView({ block: "center", behavior: "smooth" });
      target.classList.remove("flash");
      void target.getBoundingClientRect(); // restart the animation
      target.classList.add("flash");
    }

    // ---------------------------------------------------------- metric charts
    function chartsBlock(info) {
      const { windows, versions, color } = info;
      const present = new Set(["count"]);
      windows.forEach((w) => {
        Object.keys(w.metrics).forEach((k) => present.add(k));
        if (w.prediction_drift) present.add("prediction_psi");
      });
      const metrics = [...present].sort((a, b) => rank(a) - rank(b));
      const legend = el("div", { class: "mon-legend" }, versions.map((v) => el("span", { class: "legend-item" }, [
        el("span", { class: "line-swatch", style: `background:${color[v]}` }), versionName(v),
      ])));
      legend.append(
        el("span", { class: "legend-item" }, [el("span", { class: "dash-swatch" }), "alert bound"]),
        el("span", { class: "legend-item" }, [el("span", { class: "dot-swatch" }), "alert fired"]),
      );
      const grid = el("div", { class: "mon-charts" }, metrics.map((m) => chartCard(info, m)));
      return el("section", { class: "mon-block" }, [el("div", { class: "mon-block-head" }, [el("h3", { text: "Metrics per window" }), legend]), grid]);
    }

    function rank(metric) {
      const i = METRIC_ORDER.indexOf(metric);
      return i < 0 ? METRIC_ORDER.length : i;
    }

    function valueOf(w, metric) {
      if (metric === "count") return w.count;
      if (metric === "prediction_psi") return w.prediction_drift ? w.prediction_drift.psi : null;
      const v = w.metrics[metric];
      return v === undefined ? null : v;
    }

    function chartCard(info, metric) {
      const { windows, fired, thresholds } = info;
      const points = windows.map((w) => ({
        t: Date.parse(w.window_start), iso: w.window_start, version: w.model_version, value: valueOf(w, metric),
        alert: fired.has(alertKey(metric, null, w.window_start, w.model_version)),
      }));
      const known = points.filter((p) => p.value !== null);
      const latest = known[known.length - 1];
      const alerts = points.filter((p) => p.alert).length;
      const limit = thresholds[metric];
      const sub = [];
      if (limit) sub.push(`alert unless ${bound(limit)}`);
      if (alerts) sub.push(el("span", { class: "bad-text", text: `${alerts} alert${alerts === 1 ? "" : "s"}` }));
      const plot = el("div", { class: "chart-plot" });
      const card = el("div", { class: `chart-card${alerts ? " has-alert" : ""}`, "data-metric": metric }, [
        el("div", { class: "chart-head" }, [
          el("span", { class: "chart-title", text: METRIC_LABELS[metric] || metric }),
          el("span", { class: `chart-last${latest && latest.alert ? " bad-text" : ""}`, title: latest ? `latest: ${when(latest.iso)}` : "", text: latest ? fmt(latest.value) : "–" }),
        ]),
        el("div", { class: "chart-sub" }, sub.length ? sub.flatMap((s, i) => (i ? [" · ", s] : [s])) : [" "]),
        plot,
      ]);
      if (!known.length) {
        plot.append(el("div", { class: "chart-empty", text: metric === "count" ? "no predictions" : "no labelled predictions yet" }));
        return card;
      }
      redraw.push(() => plot.replaceChildren(lineChart(info, metric, points, limit, plot.clientWidth)));
      return card;
    }

    function lineChart(info, metric, points, limit, width) {
      const { versions, color } = info;
      const w = Math.max(width, 200);
      const h = CHART.height;
      const left = CHART.left;
      const right = w - CHART.right;
      const top = CHART.top;
      const bottom = h - CHART.bottom;
      const times = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
      const t0 = times[0];
      const t1 = times[times.length - 1];
      const x = (t) => (t1 === t0 ? (left + right) / 2 : left + ((t - t0) / (t1 - t0)) * (right - left));
      const bounds = limit ? [limit.min, limit.max].filter((b) => b !== null && b !== undefined) : [];
      const values = points.filter((p) => p.value !== null).map((p) => p.value).concat(bounds);
      const ticks = niceTicks(Math.min(...values), Math.max(...values), 4);
      const lo = ticks[0];
      const hi = ticks[ticks.length - 1];
      const y = (v) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);

      const root = svg("svg", { class: "chart", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": `${METRIC_LABELS[metric] || metric} per window` });
      const grid = svg("g", { class: "axis" });
      ticks.forEach((t) => {
        grid.append(svg("line", { x1: left, x2: right, y1: y(t), y2: y(t) }));
        const label = svg("text", { x: left - 6, y: y(t) + 3.5, "text-anchor": "end" });
        label.textContent = fmt(t);
        grid.append(label);
      });
      // x labels: the first, the last, and as many between as fit without overlapping.
      const labelWidth = withTime ? 80 : 52;
      let taken = -Infinity;
      times.forEach((t, i) => {
        const lastOne = i === times.length - 1;
        const anchor = times.length === 1 ? "middle" : i === 0 ? "start" : lastOne ? "end" : "middle";
        const from = anchor === "start" ? x(t) : anchor === "end" ? x(t) - labelWidth : x(t) - labelWidth / 2;
        if (from < taken) return;
        if (!lastOne && from + labelWidth > right - labelWidth) return; // keep room for the last one
        const label = svg("text", { x: x(t), y: h - 6, "text-anchor": anchor });
        label.textContent = when(new Date(t).toISOString());
        grid.append(label);
        taken = from + labelWidth;
      });
      root.append(grid);

      bounds.forEach((b) => {
        root.append(svg("line", { class: "threshold", x1: left, x2: right, y1: y(b), y2: y(b) }));
        const label = svg("text", { class: "threshold-label", x: right - 2, y: y(b) - 4, "text-anchor": "end" });
        label.textContent = `${b === limit.min ? "min" : "max"} ${fmt(b)}`;
        root.append(label);
      });

      const gap = windowSeconds * 1000 * 1.5;
      const spacing = times.length > 1 ? (right - left) / (times.length - 1) : right - left;
      const dots = svg("g", { class: "points" });
      versions.forEach((v) => {
        const series = points.filter((p) => p.version === v);
        let d = "";
        let previous = null;
        series.forEach((p) => {
          if (p.value === null) { previous = null; return; }
          const joined = previous && p.t - previous.t <= gap;
          d += `${joined ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.value).toFixed(1)} `;
          previous = p;
        });
        root.append(svg("path", { class: "series", d: d.trim() || "M0,0", stroke: color[v], "data-version": versionName(v) }));
        series.filter((p) => p.value !== null).forEach((p) => {
          if (!p.alert && spacing < 7) return; // dozens of windows: the line is enough
          const dot = svg("circle", {
            class: `point${p.alert ? " alert" : ""}`, cx: x(p.t), cy: y(p.value), r: p.alert ? 4 : 2.6,
            fill: color[v], "data-version": versionName(v), "data-window": p.iso,
          });
          const title = svg("title");
          title.textContent = `${when(p.iso)} · ${versionName(v)}: ${fmt(p.value)}${p.alert ? ` — alert, expected ${bound(limit)}` : ""}`;
          dot.append(title);
          dots.append(dot);
        });
      });
      root.append(dots);
      return root;
    }

    // ---------------------------------------------------------- PSI heat-strip
    function driftBlock(info) {
      const { model, windows, versions, color, fired } = info;
      const def = M.models[model.model];
      const declared = def ? def.features.map((f) => `${f.view}:${f.feature}`) : [];
      const seen = new Set();
      windows.forEach((w) => Object.keys(w.feature_drift).forEach((f) => seen.add(f)));
      const features = declared.filter((f) => seen.has(f)).concat([...seen].filter((f) => !declared.includes(f)).sort());
      const rows = features.map((f) => ({ key: f, label: f.split(":").pop(), sub: f.split(":")[0], drift: (w) => w.feature_drift[f] }));
      if (windows.some((w) => w.prediction_drift)) {
        rows.push({ key: "prediction", label: "prediction", sub: "model output", drift: (w) => w.prediction_drift, output: true });
      }
      const compact = windows.length > COMPACT_COLUMNS;
      const multi = versions.length > 1;
      const table = el("table", { class: `psi-table${compact ? " compact" : ""}` });
      const head = el("tr", {}, [el("th", { class: "psi-feature", text: "feature" })]);
      windows.forEach((w) => {
        const th = el("th", { class: "psi-window", title: `${when(w.window_start)} – ${when(w.window_end)} UTC · ${versionName(w.model_version)}` }, [
          el("span", { class: "date", text: when(w.window_start) }),
        ]);
        if (multi) th.append(el("span", { class: "version", style: `border-color:${color[w.model_version]}`, text: versionName(w.model_version) }));
        head.append(th);
      });
      table.append(el("thead", {}, [head]));
      const tbody = el("tbody");
      const bins = el("div", { class: "psi-bins" });
      let best = null;
      rows.forEach((row) => {
        const uid = row.output ? model.unique_id : `feature.${M.metadata.project_name}.${row.key.replace(":", ".")}`;
        const name = el("th", { class: `psi-feature${row.output ? " output" : ""}` }, [
          M.nodes[uid] ? el("a", { class: "link", text: row.label, title: `Show ${row.key} in lineage`, onclick: () => select(uid) }) : row.label,
          el("span", { class: "muted", text: row.sub }),
        ]);
        const tr = el("tr", {}, [name]);
        windows.forEach((w) => {
          const drift = row.drift(w);
          if (!drift) { tr.append(el("td", { class: "psi none", text: "–" })); return; }
          const alert = row.output
            ? fired.has(alertKey("prediction_psi", null, w.window_start, w.model_version))
            : fired.has(alertKey("psi", row.key, w.window_start, w.model_version));
          const cell = el("td", {
            class: `psi ${psiClass(drift.psi)}${alert ? " alerted" : ""}`,
            "data-feature": row.output ? "prediction" : row.key,
            "data-window": String(Date.parse(w.window_start)),
            "data-version": w.model_version || "",
            "data-psi": String(drift.psi),
            title: `${row.key} · ${when(w.window_start)} · ${versionName(w.model_version)}\nPSI ${fmt(drift.psi)} (${psiReading(drift.psi)})${alert ? " — alert fired" : ""}`,
            text: compact ? "" : fmtPsi(drift.psi),
          });
          const show = () => {
            tbody.querySelectorAll("td.selected").forEach((c) => c.classList.remove("selected"));
            cell.classList.add("selected");
            showBins(bins, row, w, drift);
          };
          cell.addEventListener("click", show);
          if (!best || drift.psi > best.psi) best = { psi: drift.psi, show };
          tr.append(cell);
        });
        tbody.append(tr);
      });
      table.append(tbody);
      const legend = el("div", { class: "mon-legend" }, [
        el("span", { class: "legend-item" }, [el("span", { class: "cell-swatch psi-low" }), `stable ≤ ${PSI_MODERATE}`]),
        el("span", { class: "legend-item" }, [el("span", { class: "cell-swatch psi-mid" }), `moderate ≤ ${PSI_SHIFT}`]),
        el("span", { class: "legend-item" }, [el("span", { class: "cell-swatch psi-high" }), `shifted > ${PSI_SHIFT}`]),
      ]);
      const block = el("section", { class: "mon-block" }, [
        el("div", { class: "mon-block-head" }, [el("h3", { text: "Feature drift · PSI against the training set" }), legend]),
        el("div", { class: "psi-scroll" }, [table]),
        bins,
      ]);
      if (best) best.show();
      return block;
    }

    function showBins(container, row, w, drift) {
      const title = el("div", { class: "psi-bins-head" }, [
        el("strong", { text: row.key }),
        el("span", { class: "muted", text: ` · ${when(w.window_start)} · ${versionName(w.model_version)} · ` }),
        el("span", { class: drift.psi > PSI_SHIFT ? "bad-text" : "", text: `PSI ${fmt(drift.psi)} (${psiReading(drift.psi)})` }),
        el("span", { class: "mon-legend inline" }, [
          el("span", { class: "legend-item" }, [el("span", { class: "bar-swatch training" }), "training"]),
          el("span", { class: "legend-item" }, [el("span", { class: `bar-swatch serving${drift.psi > PSI_SHIFT ? " shifted" : ""}` }), "serving"]),
        ]),
      ]);
      const plot = el("div", { class: "chart-plot" });
      container.replaceChildren(title, plot);
      const paint = () => plot.replaceChildren(binChart(drift, plot.clientWidth));
      redraw = redraw.filter((p) => !p.bins).concat([Object.assign(paint, { bins: true })]);
      if (plot.isConnected) paint();
    }

    function binChart(drift, width) {
      const w = Math.max(width, 240);
      const h = BINS.height;
      const left = BINS.left;
      const right = w - BINS.right;
      const top = BINS.top;
      const bottom = h - BINS.bottom;
      const shares = drift.bins.flatMap((b) => [b.training, b.serving]);
      const ticks = niceTicks(0, Math.max(...shares, 0.01), 3);
      const hi = ticks[ticks.length - 1];
      const y = (v) => bottom - (v / hi) * (bottom - top);
      const root = svg("svg", { class: "chart bins", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "Training and serving share per bin" });
      const axis = svg("g", { class: "axis" });
      ticks.forEach((t) => {
        axis.append(svg("line", { x1: left, x2: right, y1: y(t), y2: y(t) }));
        const label = svg("text", { x: left - 6, y: y(t) + 3.5, "text-anchor": "end" });
        label.textContent = `${Math.round(t * 100)}%`;
        axis.append(label);
      });
      root.append(axis);
      const slot = (right - left) / Math.max(1, drift.bins.length);
      const bar = Math.min(22, slot * 0.36);
      const shifted = drift.psi > PSI_SHIFT;
      drift.bins.forEach((b, i) => {
        const cx = left + slot * (i + 0.5);
        [["training", b.training, cx - bar - 1], ["serving", b.serving, cx + 1]].forEach(([kind, v, bx]) => {
          const rect = svg("rect", { class: `bar ${kind}${shifted && kind === "serving" ? " shifted" : ""}`, x: bx, y: y(v), width: bar, height: Math.max(0, bottom - y(v)), rx: 2 });
          const tip = svg("title");
          tip.textContent = `${b.bin} · ${kind} ${(v * 100).toFixed(1)}%`;
          rect.append(tip);
          root.append(rect);
        });
        const label = svg("text", { class: "bin-label", x: cx, y: h - 8, "text-anchor": "middle" });
        label.textContent = b.bin.length > 10 ? `${b.bin.slice(0, 9)}…` : b.bin;
        root.append(label);
      });
      return root;
    }

    // ---------------------------------------------------------- for app.js
    return {
      has: (uid) => Boolean(byUid[uid]),
      status: (uid) => (byUid[uid] ? byUid[uid].status : null),
      open,
      close,
      route,
      isOpen,
    };
  };
})();

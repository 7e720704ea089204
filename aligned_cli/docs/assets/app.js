/* aligned docs: catalog, lineage graph and details, rendered from the embedded JSON.
 *
 * No dependencies and no build step. The overview graph (sources, views, models) is laid
 * out by `aligned docs` in Python; this file draws it as SVG, handles zoom/pan and focus,
 * and expands a view's features only when the view is focused, so big projects stay fast.
 */
(function () {
  "use strict";

  const DATA = JSON.parse(document.getElementById("aligned-data").textContent);
  const M = DATA.manifest;
  const GRAPH = DATA.graph;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const W = GRAPH.node_width;
  const H = GRAPH.node_height;
  const ROW = 22; // height of a feature row in an expanded view
  const LIST_LIMIT = 150; // catalog rows per group; the search narrows the rest
  let monitoring = null; // the Monitoring view (monitoring.js) when monitoring.json exists

  // ---------------------------------------------------------------- indexes
  const results = {}; // unique_id -> last run result
  ((DATA.run_results && DATA.run_results.results) || []).forEach((r) => { results[r.unique_id] = r; });
  const freshness = {}; // unique_id -> last freshness result
  ((DATA.freshness && DATA.freshness.results) || []).forEach((r) => { freshness[r.unique_id] = r; });
  const project = M.metadata.project_name;
  const testsOf = {}; // feature or view unique id -> [test unique ids]
  Object.values(M.tests).forEach((t) => {
    const owner = t.feature ? `feature.${project}.${t.view}.${t.feature}` : `view.${project}.${t.view}`;
    (testsOf[owner] = testsOf[owner] || []).push(`test.${project}.${t.name}`);
  });
  const position = {}; // overview node id -> {x, y}
  GRAPH.nodes.forEach((n) => { position[n.id] = n; });

  function owner(uid) {
    // The overview node that stands for a node: a feature's view; tests have none.
    const node = M.nodes[uid];
    if (!node || node.kind === "test") return null;
    if (node.kind === "feature") return `view.${project}.${uid.split(".")[2]}`;
    return uid;
  }

  function reach(start, links) {
    const seen = new Set();
    const stack = [start];
    while (stack.length) {
      const uid = stack.pop();
      (links[uid] || []).forEach((next) => {
        if (!seen.has(next)) { seen.add(next); stack.push(next); }
      });
    }
    return seen;
  }

  // ---------------------------------------------------------------- helpers
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.append(c));
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  }

  function statusClass(status) {
    if (status === "success" || status === "pass") return "ok";
    if (status === "warn") return "warn";
    if (status === "fail" || status === "error" || status === "runtime error") return "bad";
    return "skip";
  }

  function badge(status, text) {
    return el("span", { class: `badge ${statusClass(status)}`, text: text || status });
  }

  function link(uid, text) {
    return el("a", { class: "link", text: text || label(uid), onclick: () => select(uid) });
  }

  const byName = (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true });

  function featuresOf(viewUid) {
    // In declaration order, as the view's author wrote them.
    const v = M.feature_views[viewUid.split(".")[2]];
    return v.features.concat(v.aggregations).map((f) => `${viewUid.replace(/^view\./, "feature.")}.${f.name}`);
  }

  function label(uid) {
    const node = M.nodes[uid];
    return node ? node.name : uid;
  }

  function seconds(value) {
    if (value === null || value === undefined) return "–";
    const units = [["d", 86400], ["h", 3600], ["m", 60]];
    for (const [unit, size] of units) if (value >= size && value % size === 0) return `${value / size}${unit}`;
    return value >= 3600 ? `${(value / 3600).toFixed(1)}h` : `${Math.round(value)}s`;
  }

  function truncate(text, max) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  function constraintText(c) {
    const v = JSON.stringify(c.value);
    switch (c.kind) {
      case "lower_bound": return `${c.is_inclusive ? "≥" : ">"} ${v}`;
      case "upper_bound": return `${c.is_inclusive ? "≤" : "<"} ${v}`;
      case "accepted_values": return `in ${v}`;
      case "relationships": return `references ${v}`;
      default: return c.kind.replace("_", " ");
    }
  }

  // ---------------------------------------------------------------- header
  function renderHeader() {
    const counts = [
      [Object.keys(M.sources).length, "sources"],
      [Object.keys(M.feature_views).length, "views"],
      [Object.values(M.nodes).filter((n) => n.kind === "feature").length, "features"],
      [Object.keys(M.models).length, "models"],
      [Object.keys(M.tests).length, "tests"],
    ];
    const plural = (n, word) => `${n} ${n === 1 ? word.slice(0, -1) : word}`;
    document.getElementById("stats").textContent = counts.map(([n, w]) => plural(n, w)).join(" · ");
    const summary = document.getElementById("run-summary");
    if (!DATA.run_results) { summary.textContent = "no run results yet"; return; }
    const tally = {};
    DATA.run_results.results.forEach((r) => { tally[r.status] = (tally[r.status] || 0) + 1; });
    const when = new Date(DATA.run_results.metadata.generated_at).toLocaleString();
    summary.append(`last ${DATA.run_results.metadata.command}: ${when}`);
    Object.keys(tally).sort().forEach((s) => summary.append(badge(s, `${tally[s]} ${s}`)));
  }

  // ---------------------------------------------------------------- catalog
  const entries = [];
  function buildCatalog() {
    const add = (group, uid, name, sub, extra) => {
      const node = M.nodes[uid] || {};
      const haystack = [name, sub, node.description || "", (node.tags || []).join(" "), extra || ""];
      entries.push({ group, uid, name, sub, haystack: haystack.join(" ").toLowerCase() });
    };
    Object.values(M.sources).forEach((s) => add("Sources", `source.${project}.${s.name}`, s.name,
      s.file || (s.table ? `${s.schema_name ? s.schema_name + "." : ""}${s.table}` : "query")));
    Object.values(M.feature_views).forEach((v) => add("Views", `view.${project}.${v.name}`, v.name,
      `${v.features.length + v.aggregations.length} features · ${v.description || v.source.name}`));
    Object.values(M.nodes).filter((n) => n.kind === "feature").forEach((n) => add("Features",
      n.unique_id, n.name, `${n.dtype || "?"}${n.description ? " · " + n.description : ""}`));
    Object.values(M.models).forEach((m) => add("Models", `model.${project}.${m.name}`, m.name,
      `${m.features.length} features${m.description ? " · " + m.description : ""}`));
  }

  let selectedUid = null;
  function renderCatalog(query) {
    const list = document.getElementById("catalog-list");
    list.replaceChildren();
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const groups = {};
    entries.forEach((e) => {
      if (words.every((w) => e.haystack.includes(w))) (groups[e.group] = groups[e.group] || []).push(e);
    });
    Object.values(groups).forEach((found) => found.sort(byName));
    let any = false;
    ["Sources", "Views", "Features", "Models"].forEach((group) => {
      const found = groups[group] || [];
      if (!found.length) return;
      any = true;
      list.append(el("div", { class: "group-title" }, [el("span", { text: group }), el("span", { text: String(found.length) })]));
      found.slice(0, LIST_LIMIT).forEach((e) => {
        const cls = `item${e.uid === selectedUid ? " selected" : ""}`;
        list.append(el("button", { class: cls, type: "button", "data-id": e.uid, onclick: () => select(e.uid) }, [
          el("span", { class: "name", text: e.name }),
          el("span", { class: "sub", text: e.sub }),
        ]));
      });
      if (found.length > LIST_LIMIT) {
        list.append(el("div", { class: "more", text: `and ${found.length - LIST_LIMIT} more — refine the search` }));
      }
    });
    if (!any) list.append(el("div", { class: "no-results", text: `Nothing matches “${query}”.` }));
  }

  // ---------------------------------------------------------------- graph
  const svgRoot = document.getElementById("graph");
  const viewport = document.getElementById("viewport");
  const nodeLayer = document.getElementById("nodes");
  const edgeLayer = document.getElementById("edges");
  const overlay = document.getElementById("overlay");
  const nodeEls = {};
  const edgeEls = [];

  function curve(x1, y1, x2, y2) {
    const dx = Math.max(40, (x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
  }

  function drawGraph() {
    const edges = document.createDocumentFragment();
    GRAPH.edges.forEach(([a, b]) => {
      const p = position[a];
      const q = position[b];
      const path = svg("path", {
        class: "edge", d: curve(p.x + W, p.y + H / 2, q.x, q.y + H / 2), "marker-end": "url(#arrow)",
      });
      edgeEls.push({ a, b, path });
      edges.append(path);
    });
    edgeLayer.append(edges);
    const nodes = document.createDocumentFragment();
    GRAPH.nodes.forEach((n) => {
      const g = svg("g", { class: `node ${n.kind}`, "data-id": n.id, transform: `translate(${n.x},${n.y})` });
      g.append(svg("rect", { class: "box", width: W, height: H, rx: 6 }));
      g.append(svg("rect", { class: "stripe", width: 5, height: H, rx: 2 }));
      const kind = svg("text", { class: "kind", x: 14, y: 12 });
      kind.textContent = n.kind;
      const name = svg("text", { class: "label", x: 14, y: 26 });
      name.textContent = truncate(n.name, 27);
      const title = svg("title");
      title.textContent = `${n.kind} ${n.name}`;
      g.append(kind, name, title);
      const result = results[n.id];
      if (result) g.append(svg("circle", { class: `status ${statusClass(result.status)}`, cx: W - 12, cy: H / 2, r: 5 }));
      g.addEventListener("click", (event) => { event.stopPropagation(); select(n.id); });
      nodeEls[n.id] = g;
      nodes.append(g);
    });
    nodeLayer.append(nodes);
  }

  function focusGraph(uid) {
    // Related = everything upstream or downstream of uid, folded onto overview nodes.
    overlay.replaceChildren();
    const related = new Set();
    const up = new Set();
    const down = new Set();
    reach(uid, M.parent_map).forEach((u) => { const o = owner(u); if (o) { related.add(o); up.add(o); } });
    reach(uid, M.child_map).forEach((u) => { const o = owner(u); if (o) { related.add(o); down.add(o); } });
    const center = owner(uid);
    related.add(center);
    up.add(center);
    down.add(center);
    Object.entries(nodeEls).forEach(([id, g]) => {
      g.classList.toggle("dimmed", !related.has(id));
      g.classList.toggle("focused", id === center);
      g.classList.toggle("related", related.has(id) && id !== center);
    });
    edgeEls.forEach(({ a, b, path }) => {
      const on = (up.has(a) && up.has(b)) || (down.has(a) && down.has(b));
      path.classList.toggle("active", on);
      path.classList.toggle("dimmed", !on);
    });
    if (center && M.nodes[center].kind === "view") expandFeatures(center, uid);
  }

  function clearFocus() {
    overlay.replaceChildren();
    Object.values(nodeEls).forEach((g) => g.classList.remove("dimmed", "focused", "related"));
    edgeEls.forEach(({ path }) => path.classList.remove("dimmed", "active"));
  }

  function expandFeatures(viewUid, focusUid) {
    // A card under the focused view listing its features, with edges to the models
    // that read each one; features outside a focused feature's lineage are dimmed.
    const p = position[viewUid];
    const features = featuresOf(viewUid);
    const lineage = M.nodes[focusUid].kind === "feature"
      ? new Set([focusUid, ...reach(focusUid, M.parent_map), ...reach(focusUid, M.child_map)])
      : null;
    const card = svg("g", { class: "feature-card", transform: `translate(${p.x},${p.y + H + 6})` });
    card.append(svg("rect", { class: "card", width: W, height: 24 + features.length * ROW, rx: 6 }));
    const title = svg("text", { class: "title", x: 10, y: 16 });
    title.textContent = `${features.length} features`;
    card.append(title);
    features.forEach((f, i) => {
      const y = 22 + i * ROW;
      const row = svg("g", { class: "feature-row", "data-id": f, transform: `translate(0,${y})` });
      if (lineage && !lineage.has(f)) row.classList.add("dimmed");
      if (f === focusUid) row.classList.add("focused");
      row.append(svg("rect", { x: 2, width: W - 4, height: ROW }));
      const name = svg("text", { x: 10, y: 15 });
      name.textContent = truncate(f.split(".")[3], 20);
      const dtype = svg("text", { class: "dtype", x: W - 10, y: 15, "text-anchor": "end" });
      dtype.textContent = M.nodes[f].dtype || "derived";
      row.append(name, dtype);
      row.addEventListener("click", (event) => { event.stopPropagation(); select(f); });
      card.append(row);
      if (lineage && !lineage.has(f)) return;
      (M.child_map[f] || []).filter((c) => M.nodes[c].kind === "model" && position[c]).forEach((m) => {
        const q = position[m];
        overlay.append(svg("path", {
          class: "feature-edge", d: curve(p.x + W, p.y + H + 6 + y + ROW / 2, q.x, q.y + H / 2),
        }));
      });
    });
    overlay.append(card);
  }

  // Zoom and pan: one transform on the viewport group.
  const view = { k: 1, x: 0, y: 0 };
  function applyView() {
    viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
  }

  function zoomAt(factor, cx, cy) {
    const k = Math.min(3, Math.max(0.05, view.k * factor));
    view.x = cx - ((cx - view.x) * k) / view.k;
    view.y = cy - ((cy - view.y) * k) / view.k;
    view.k = k;
    applyView();
  }

  let fitLater = false; // resized while the graph was hidden behind another view
  function fit() {
    const box = svgRoot.getBoundingClientRect();
    if (!box.width) { fitLater = true; return; }
    const pad = 40;
    const k = Math.min(1.2, (box.width - 2 * pad) / GRAPH.width, (box.height - 2 * pad) / GRAPH.height);
    view.k = Math.max(0.05, k);
    view.x = (box.width - GRAPH.width * view.k) / 2;
    view.y = (box.height - GRAPH.height * view.k) / 2;
    applyView();
  }

  function centerOn(uid) {
    const p = position[uid];
    if (!p) return;
    const box = svgRoot.getBoundingClientRect();
    const inside = (v, lo, hi) => v >= lo && v <= hi;
    const sx = p.x * view.k + view.x;
    const sy = p.y * view.k + view.y;
    if (inside(sx, 0, box.width - W * view.k) && inside(sy, 0, box.height - H * view.k) && view.k >= 0.5) return;
    view.k = Math.max(view.k, 0.8);
    view.x = box.width / 3 - (p.x + W / 2) * view.k;
    view.y = box.height / 3 - (p.y + H / 2) * view.k;
    applyView();
  }

  function wireGraphControls() {
    let drag = null;
    svgRoot.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = svgRoot.getBoundingClientRect();
      zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    svgRoot.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, moved: false };
    });
    window.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      drag.moved = true;
      svgRoot.classList.add("panning");
      view.x += dx;
      view.y += dy;
      drag.x = event.clientX;
      drag.y = event.clientY;
      applyView();
    });
    window.addEventListener("pointerup", () => {
      svgRoot.classList.remove("panning");
      setTimeout(() => { drag = null; }, 0); // let the click handler see `moved`
    });
    svgRoot.addEventListener("click", () => { if (!drag || !drag.moved) { selectedUid = null; clearFocus(); } });
    const middle = () => { const b = svgRoot.getBoundingClientRect(); return [b.width / 2, b.height / 2]; };
    document.getElementById("fit").addEventListener("click", fit);
    document.getElementById("zoom-in").addEventListener("click", () => zoomAt(1.25, ...middle()));
    document.getElementById("zoom-out").addEventListener("click", () => zoomAt(0.8, ...middle()));
    document.getElementById("clear-focus").addEventListener("click", () => { clearFocus(); fit(); });
  }

  // ---------------------------------------------------------------- SQL
  const KEYWORDS = new Set(("select from where and or not as on join left right inner outer full cross " +
    "group by order having limit offset union all distinct case when then else end is null in " +
    "between like ilike with over partition rows range preceding following current row cast " +
    "true false asc desc nulls first last using exists interval qualify lateral create table " +
    "view replace insert into values").split(" "));
  const FUNCTIONS = new Set(("coalesce count sum avg min max row_number rank dense_rank lag lead " +
    "first_value last_value extract date_trunc nullif greatest least abs round").split(" "));

  function highlightSql(sql) {
    const out = document.createDocumentFragment();
    const token = /('(?:[^']|'')*')|(--[^\n]*)|("(?:[^"]|"")*")|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)|([\s\S])/g;
    let m;
    let plain = "";
    const flush = () => { if (plain) { out.append(plain); plain = ""; } };
    const span = (cls, text) => { flush(); out.append(el("span", { class: cls, text })); };
    while ((m = token.exec(sql)) !== null) {
      if (m[1]) span("str", m[1]);
      else if (m[2]) span("com", m[2]);
      else if (m[4]) span("num", m[4]);
      else if (m[5] && KEYWORDS.has(m[5].toLowerCase())) span("kw", m[5]);
      else if (m[5] && FUNCTIONS.has(m[5].toLowerCase())) span("fn", m[5]);
      else plain += m[0];
    }
    flush();
    return out;
  }

  function sqlSection(uid, note) {
    const node = M.nodes[uid];
    const dialects = Object.keys((node && node.compiled_sql) || {});
    if (!dialects.length) return [];
    const pre = el("pre", { class: "sql", "data-id": uid });
    const tabs = el("div", { class: "tabs" });
    const show = (dialect) => {
      tabs.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.dialect === dialect));
      pre.replaceChildren(highlightSql(node.compiled_sql[dialect]));
    };
    dialects.forEach((d) => tabs.append(el("button", { class: "tab", type: "button", "data-dialect": d, text: d, onclick: () => show(d) })));
    show(dialects[0]);
    const title = el("h3", { text: "Compiled SQL" });
    return note ? [title, el("p", { class: "muted", text: note }), tabs, pre] : [title, tabs, pre];
  }

  // ---------------------------------------------------------------- details
  function kv(rows) {
    const table = el("table", { class: "kv" });
    rows.filter(([, v]) => v !== null && v !== undefined && v !== "").forEach(([k, v]) => {
      const cell = el("td");
      cell.append(v);
      table.append(el("tr", {}, [el("th", { text: k }), cell]));
    });
    return table;
  }

  function chips(values) {
    return el("div", { class: "chips" }, values.map((v) => el("span", { class: "chip", text: v })));
  }

  function testsTable(uid) {
    const tests = testsOf[uid] || [];
    if (!tests.length) return [];
    const table = el("table", { class: "table" }, [el("tr", {}, ["test", "severity", "last status"].map((h) => el("th", { text: h })))]);
    tests.forEach((t) => {
      const def = M.tests[t.split(".")[2]];
      const r = results[t];
      const status = r ? badge(r.status, r.failures ? `${r.status} (${r.failures})` : r.status) : el("span", { class: "muted", text: "not run" });
      table.append(el("tr", { class: "clickable", onclick: () => select(t) }, [
        el("td", { text: def.kind }), el("td", { text: def.severity }), el("td", {}, [status]),
      ]));
    });
    return [el("h3", { text: `Tests (${tests.length})` }), table];
  }

  function lineageSection(uid) {
    const parents = (M.parent_map[uid] || []).filter((p) => M.nodes[p].kind !== "test");
    const children = (M.child_map[uid] || []).filter((c) => M.nodes[c].kind !== "test");
    const list = (ids) => (ids.length ? el("div", { class: "chips" }, ids.map((i) => link(i, `${M.nodes[i].kind} ${M.nodes[i].name}`))) : "–");
    return [el("h3", { text: "Lineage" }), kv([["upstream", list(parents)], ["downstream", list(children)]])];
  }

  function runRow(uid) {
    const r = results[uid];
    if (!r) return null;
    const parts = [badge(r.status)];
    if (r.rows_affected !== null && r.rows_affected !== undefined) parts.push(` ${r.rows_affected} rows`);
    parts.push(` in ${r.execution_time.toFixed(2)}s`);
    if (r.message) parts.push(el("div", { class: "muted", text: r.message }));
    return el("span", {}, parts);
  }

  function freshnessRow(uid) {
    const f = freshness[uid];
    if (!f) return null;
    return el("span", {}, [badge(f.status), ` newest ${f.max_loaded_at || "–"} (age ${seconds(f.age_seconds)})`]);
  }

  function sourceDetails(uid) {
    const s = M.sources[M.nodes[uid].name];
    const location = s.file || (s.table ? `${s.schema_name ? s.schema_name + "." : ""}${s.table}` : null);
    const parts = [kv([
      ["location", location ? el("code", { text: location }) : null],
      ["query", s.query ? el("code", { text: s.query }) : null],
      ["format", s.format], ["connection", s.connection || "the run's target"],
      ["timezone", s.timezone], ["event time", s.event_timestamp], ["loaded at", s.loaded_at_field],
      ["freshness", s.freshness ? `warn after ${seconds(s.freshness.warn_after)}, error after ${seconds(s.freshness.error_after)}` : null],
      ["last check", freshnessRow(uid)],
    ])];
    const mapping = Object.entries(s.mapping || {});
    if (mapping.length) {
      const table = el("table", { class: "table" }, [el("tr", {}, [el("th", { text: "raw column" }), el("th", { text: "name" })])]);
      mapping.forEach(([raw, name]) => table.append(el("tr", {}, [el("td", { class: "mono", text: raw }), el("td", { class: "mono", text: name })])));
      parts.push(el("h3", { text: "Column mapping" }), table);
    }
    return parts;
  }

  function viewDetails(uid) {
    const v = M.feature_views[M.nodes[uid].name];
    const srcUid = `${v.source.kind}.${project}.${v.source.name}`;
    const out = v.materialized_source;
    const parts = [kv([
      ["source", link(srcUid, `${v.source.kind} ${v.source.name}`)],
      ["entities", chips(v.entities)],
      ["event time", v.event_timestamp], ["created time", v.created_timestamp],
      ["ttl", v.ttl ? seconds(v.ttl) : null],
      ["materialized", out ? el("code", { text: out.file || `${out.schema_name ? out.schema_name + "." : ""}${out.table}` }) : null],
      ["freshness", v.freshness ? `warn after ${seconds(v.freshness.warn_after)}, error after ${seconds(v.freshness.error_after)}` : null],
      ["last check", freshnessRow(uid)],
      ["last run", runRow(uid)],
    ])];
    const features = featuresOf(uid);
    const table = el("table", { class: "table" }, [el("tr", {}, ["feature", "type", "constraints", "tests"].map((h) => el("th", { text: h })))]);
    features.forEach((f) => {
      const def = featureDef(f);
      const tests = testsOf[f] || [];
      const worst = tests.map((t) => results[t]).filter(Boolean).map((r) => r.status);
      const status = !tests.length ? "–" : worst.length ? badge(pickWorst(worst), `${tests.length}`) : `${tests.length}`;
      table.append(el("tr", { class: "clickable", "data-id": f, onclick: () => select(f) }, [
        el("td", { class: "mono", text: f.split(".")[3] }),
        el("td", { class: "mono", text: M.nodes[f].dtype || "derived" }),
        el("td", { text: (def.constraints || []).map(constraintText).join(", ") || (def.expression ? "derived" : "") }),
        el("td", {}, [status]),
      ]));
    });
    parts.push(el("h3", { text: `Features (${features.length})` }), table);
    return parts.concat(testsTable(uid));
  }

  function pickWorst(statuses) {
    const rank = ["error", "fail", "warn", "skipped", "pass", "success"];
    return statuses.slice().sort((a, b) => rank.indexOf(a) - rank.indexOf(b))[0];
  }

  function featureDef(uid) {
    const [, , viewName, name] = uid.split(".");
    const v = M.feature_views[viewName];
    return v.features.concat(v.aggregations).find((f) => f.name === name) || {};
  }

  function featureDetails(uid) {
    const def = featureDef(uid);
    const viewUid = owner(uid);
    const models = (M.child_map[uid] || []).filter((c) => M.nodes[c].kind === "model");
    const columns = M.feature_lineage[uid] || [];
    const parts = [kv([
      ["view", link(viewUid, M.nodes[viewUid].name)],
      ["type", el("code", { text: M.nodes[uid].dtype || "unknown" })],
      ["expression", def.expression ? el("code", { text: def.expression }) : null],
      ["aggregation", def.function ? `${def.function}(${def.of || ""}) over ${seconds(def.window)}` : null],
      ["constraints", (def.constraints || []).length ? chips(def.constraints.map(constraintText)) : "none"],
      ["optional", def.optional ? "yes" : null],
      ["source columns", columns.length ? chips(columns.map((c) => c.split(".").slice(2).join("."))) : "–"],
      ["used by", models.length ? el("div", { class: "chips" }, models.map((m) => link(m))) : "no model"],
    ])];
    return parts.concat(testsTable(uid));
  }

  function modelDetails(uid) {
    const m = M.models[M.nodes[uid].name];
    const output = m.output;
    const location = output ? output.file || `${output.schema_name ? output.schema_name + "." : ""}${output.table}`
      : `${M.project.target_path}/datasets/${m.name}.parquet`;
    const target = m.target ? (m.target.feature ? `${m.target.feature.view}:${m.target.feature.feature}` : m.target.column) : null;
    const parts = [kv([
      ["dataset", el("code", { text: location })],
      ["spine", m.spine ? link(`source.${project}.${m.spine.source}`, m.spine.source) : "none (runtime API only)"],
      ["target", target ? `${target}${m.target.kind ? " · " + m.target.kind : ""}` : null],
      ["last run", runRow(uid)],
      ["monitoring", monitoring && monitoring.has(uid) ? el("span", {}, [
        el("a", { class: "link", "data-monitoring": uid, text: "Monitoring", onclick: () => monitoring.open(uid) }),
        " ", badge(monitoring.status(uid)),
      ]) : null],
    ])];
    const table = el("table", { class: "table" }, [el("tr", {}, ["input feature", "type"].map((h) => el("th", { text: h })))]);
    m.features.forEach((ref) => {
      const f = `feature.${project}.${ref.view}.${ref.feature}`;
      table.append(el("tr", { class: "clickable", onclick: () => select(f) }, [
        el("td", { class: "mono", text: `${ref.view}:${ref.feature}` }),
        el("td", { class: "mono", text: (M.nodes[f] && M.nodes[f].dtype) || "?" }),
      ]));
    });
    parts.push(el("h3", { text: `Inputs (${m.features.length})` }), table);
    return parts;
  }

  function testDetails(uid) {
    const t = M.tests[M.nodes[uid].name];
    const r = results[uid];
    const on = t.feature ? `feature.${project}.${t.view}.${t.feature}` : `view.${project}.${t.view}`;
    const parts = [kv([
      ["checks", link(on)], ["kind", t.kind], ["value", t.value !== null ? JSON.stringify(t.value) : null],
      ["severity", t.severity], ["warn if", t.warn_if], ["error if", t.error_if],
      ["last run", r ? el("span", {}, [badge(r.status), r.failures ? ` ${r.failures} failures` : ""]) : "not run"],
    ])];
    if (r && r.sample && r.sample.length) {
      const cols = Object.keys(r.sample[0]);
      const table = el("table", { class: "table" }, [el("tr", {}, cols.map((c) => el("th", { text: c })))]);
      r.sample.forEach((row) => table.append(el("tr", {}, cols.map((c) => el("td", { class: "mono", text: String(row[c]) })))));
      parts.push(el("h3", { text: "Failing rows (sample)" }), table);
    }
    return parts;
  }

  const DETAILS = { source: sourceDetails, view: viewDetails, feature: featureDetails, model: modelDetails, test: testDetails };

  function renderDetails(uid) {
    const node = M.nodes[uid];
    const pane = document.getElementById("details");
    const where = node.file ? `${node.file}${node.line ? ":" + node.line : ""}` : null;
    const header = [
      el("span", { class: `kind-badge ${node.kind}`, text: node.kind }),
      el("h2", { text: node.name }),
    ];
    if (node.description) header.push(el("p", { class: "description", text: node.description }));
    const meta = kv([["declared in", where ? el("code", { text: where }) : null], ["tags", node.tags.length ? chips(node.tags) : null]]);
    const sqlFor = node.kind === "feature" ? owner(uid) : uid;
    const note = node.kind === "feature" ? `The SQL of view ${M.nodes[sqlFor].name}, which computes this feature.` : null;
    pane.replaceChildren(...header, meta, ...DETAILS[node.kind](uid), ...lineageSection(uid), ...sqlSection(sqlFor, note));
    pane.dataset.id = uid;
    pane.scrollTop = 0;
  }

  // ---------------------------------------------------------------- selection
  function select(uid) {
    if (!M.nodes[uid]) return;
    if (monitoring) monitoring.close(false);
    selectedUid = uid;
    renderDetails(uid);
    if (M.nodes[uid].kind !== "test") {
      focusGraph(uid);
      centerOn(owner(uid));
    }
    document.querySelectorAll(".item.selected").forEach((i) => i.classList.remove("selected"));
    const item = document.querySelector(`.item[data-id="${CSS.escape(uid)}"]`);
    if (item) item.classList.add("selected");
    history.replaceState(null, "", `#${encodeURIComponent(uid)}`);
  }

  // ---------------------------------------------------------------- start
  renderHeader();
  buildCatalog();
  renderCatalog("");
  drawGraph();
  wireGraphControls();
  fit();
  let pending = null;
  document.getElementById("search").addEventListener("input", (event) => {
    clearTimeout(pending);
    pending = setTimeout(() => renderCatalog(event.target.value), 80);
  });
  window.addEventListener("resize", fit);
  if (DATA.monitoring && window.alignedMonitoring) {
    monitoring = window.alignedMonitoring({
      data: DATA, el, svg, badge, select, duration: seconds,
      onLineage: () => { if (fitLater) { fitLater = false; fit(); } },
    });
  }
  const initial = decodeURIComponent(location.hash.slice(1));
  if (monitoring && /^monitoring(\/|$)/.test(initial)) monitoring.route(initial);
  else if (initial && M.nodes[initial]) select(initial);
  document.body.dataset.ready = "true"; // for tests: the page has rendered
})();

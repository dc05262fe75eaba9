// modelctl ui: a static front end over the read-only JSON API (/api/v1). Every value from the API is put
// into the page as text (textContent, cytoscape labels, chart labels): nothing is parsed as HTML.
"use strict";

const API = "/api/v1";
const REFRESH_MS = 5000;
const state = { view: null, timer: null, cy: null, charts: {}, lastRender: null };
window.modelctlUI = state; // for the browser tests and the curious: the graph and the charts

// --- DOM helpers ----------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// replaceChildren() would show a null as the text "null": absent parts are left out here
const put = (el, ...children) => el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
const dash = (v) => (v === null || v === undefined || v === "" ? "-" : String(v));
const slug = (v) => String(v).replace(/[^a-z0-9]+/gi, "-").toLowerCase();
const badge = (text, cls) => h("span", { class: "badge " + slug(cls || text), text: dash(text) });
const link = (href, text) => h("a", { href, text });

const PAGE = 200; // rows of a long table drawn at first; "show more" adds the next ones

function table(headers, rows, rowClass) {
  if (rows.length > PAGE) return pagedTable(headers, rows, rowClass);
  return h(
    "table",
    { class: rows.length > 200 ? "big" : null }, // a fixed layout: a 1,000-row table lays out in one pass
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { text: x })))),
    h("tbody", {}, rows.map((r, i) => h("tr", { class: rowClass ? rowClass(i) : null }, r.map((c) => h("td", {}, c))))),
  );
}

function pagedTable(headers, rows, rowClass) {
  const body = h("tbody", {});
  const more = h("button", { type: "button" });
  let shown = 0;
  const next = () => {
    const end = Math.min(rows.length, shown + PAGE);
    for (let i = shown; i < end; i++) body.appendChild(h("tr", { class: rowClass ? rowClass(i) : null }, rows[i].map((c) => h("td", {}, c))));
    shown = end;
    more.textContent = `show ${Math.min(PAGE, rows.length - shown)} more (${shown} of ${rows.length})`;
    more.hidden = shown >= rows.length;
  };
  more.addEventListener("click", next);
  next();
  return h("div", {}, h("table", { class: "big" }, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { text: x })))), body), more);
}

async function api(path) {
  const resp = await fetch(API + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({ error: "not JSON (HTTP " + resp.status + ")" }));
  if (!resp.ok) throw new Error(body.error || "HTTP " + resp.status);
  return body;
}

function banners(snap) {
  const box = document.getElementById("banners");
  box.replaceChildren();
  for (const p of snap.problems || []) {
    box.appendChild(h("div", { class: "banner bad" }, (p.location ? p.location + ": " : "") + p.message));
  }
  for (const t of snap.targets || []) {
    if (!t.reachable) {
      box.appendChild(h("div", { class: "banner bad", "data-target": t.name }, `target ${t.name} (${t.type}) unreachable: ${t.error}`));
    }
  }
  if (snap.workspace && snap.registry === false) {
    box.appendChild(h("div", { class: "banner" }, "No registry yet: nothing was applied. ", h("code", { class: "cmd", text: `modelctl apply ${snap.root}` })));
  }
  document.getElementById("workspace-name").textContent = snap.workspace || "";
}

// --- views ----------------------------------------------------------------------------------------

const KIND_COLUMN = { Model: 0, Image: 1, Deployment: 2, Endpoint: 3 };
const DRIFT_COLOUR = { "by-hand": "#c62828", pending: "#ef6c00", expected: "#6b7280", "in sync": "#2e7d32" };

function nodeLabel(n) {
  if (n.group) {
    const what = n.kind === "Deployment" ? `of ${n.image} on ${n.target}` : `on ${n.target}`;
    return `${n.members} ${n.kind}s ${what}\n${n.drift}`;
  }
  const lines = [`${n.kind} ${n.name}`];
  if (n.kind === "Model" || n.kind === "Image") lines.push(n.version === null ? "not registered yet" : `version ${n.version}`);
  if (n.kind === "Deployment") {
    lines.push(`${n.image}${n.imageVersion === null ? " (not deployed)" : ":" + n.imageVersion} on ${n.target}`);
    const health = n.health.startsWith("unknown (target unreachable") ? "target unreachable" : n.health;
    lines.push(`${dash(n.ready)}/${dash(n.desired)} ready · ${health}`.slice(0, 60));
  }
  if (n.kind === "Endpoint") lines.push(`${n.target} · ${Object.entries(n.traffic || {}).map(([d, p]) => d + " " + p + "%").join(", ")}`);
  lines.push(`${n.drift === "by-hand" ? "DRIFTED (by hand)" : n.drift} · ${n.fingerprint}`);
  return lines.join("\n");
}

function detailHref(n) {
  if (n.group) return n.kind === "Deployment" ? "#/deployments" : "#/endpoints";
  if (n.kind === "Deployment") return "#/deployment/" + encodeURIComponent(n.name);
  if (n.kind === "Endpoint") return "#/endpoints";
  return "#/registry";
}

const INDIVIDUAL = 60; // in a big graph, nodes drawn one by one (drifted first); the rest are grouped

function groupKey(n) {
  if (n.kind === "Deployment") return `Deployment|${n.image}|${n.target}|${n.drift}`;
  if (n.kind === "Endpoint") return `Endpoint|${n.target}|${n.drift}`;
  return null;
}

function groupedGraph(data) {
  // Above BIG_GRAPH nodes, deployments and endpoints of one image, target and drift state become one
  // node with a count; drifted ones (then pending, unknown) stay single nodes, up to INDIVIDUAL.
  if (data.nodes.length <= BIG_GRAPH) return data;
  const rank = { "by-hand": 0, pending: 1, unknown: 2 };
  const single = new Set(
    data.nodes.filter((n) => groupKey(n) && n.drift in rank).sort((a, b) => rank[a.drift] - rank[b.drift]).slice(0, INDIVIDUAL).map((n) => n.id),
  );
  const groups = {};
  const repr = {};
  const nodes = [];
  for (const n of data.nodes) {
    const key = groupKey(n);
    if (!key || single.has(n.id)) { nodes.push(n); repr[n.id] = n.id; continue; }
    const id = "group:" + key;
    repr[n.id] = id;
    if (!groups[id]) {
      groups[id] = { ...n, id, name: `${n.kind.toLowerCase()}s`, members: 0, group: true };
      nodes.push(groups[id]);
    }
    groups[id].members += 1;
  }
  const seen = new Set();
  const edges = [];
  for (const e of data.edges) {
    const source = repr[e.source], target = repr[e.target];
    const id = source + "->" + target;
    if (source && target && !seen.has(id)) { seen.add(id); edges.push({ source, target }); }
  }
  return { ...data, nodes, edges };
}

function graphElements(data) {
  const counts = {};
  for (const n of data.nodes) counts[n.kind] = (counts[n.kind] || 0) + 1;
  const perColumn = Math.max(8, Math.ceil(Math.sqrt(data.nodes.length) * 1.5)); // a big kind wraps into sub-columns
  const subColumns = (kind) => Math.ceil((counts[kind] || 0) / perColumn);
  const start = {};
  let x = 0;
  for (const kind of Object.keys(KIND_COLUMN)) { start[kind] = x; x += Math.max(1, subColumns(kind)); }
  const seen = {};
  const els = [];
  for (const n of data.nodes) {
    const i = (seen[n.kind] = (seen[n.kind] || 0) + 1) - 1;
    const col = start[n.kind] + Math.floor(i / perColumn);
    els.push({
      group: "nodes",
      data: { id: n.id, label: nodeLabel(n), drift: n.drift, kind: n.kind, href: detailHref(n), colour: DRIFT_COLOUR[n.drift] || "#9ca3af" },
      position: { x: 160 + col * 330, y: 60 + (i % perColumn) * 120 },
      classes: slug(n.drift) + " " + n.kind.toLowerCase(),
    });
  }
  for (const e of data.edges) els.push({ group: "edges", data: { id: e.source + "->" + e.target, source: e.source, target: e.target } });
  return els;
}

const BIG_GRAPH = 300; // nodes: above it the table lists only the nodes that need a look

function graphTable(data) {
  const big = data.nodes.length > BIG_GRAPH;
  const nodes = big ? data.nodes.filter((n) => n.drift !== "in sync") : data.nodes;
  const listing = table(
    ["node", "version", "target", "health", "drift", "fingerprint", "tags"],
    nodes.map((n) => [
      link(detailHref(n), n.id),
      dash(n.kind === "Deployment" ? `${n.image}:${dash(n.imageVersion)}` : n.version),
      dash(n.target),
      n.kind === "Deployment" ? `${dash(n.ready)}/${dash(n.desired)} ${n.health}` : dash(n.health),
      badge(n.drift === "by-hand" ? "drifted (by hand)" : n.drift, n.drift),
      h("code", { text: dash(n.fingerprint) }),
      Object.entries(n.tags || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "-",
    ]),
    (i) => (nodes[i].drift === "by-hand" ? "stands-out drifted" : null),
  );
  if (!big) { listing.id = "graph-nodes"; return listing; }
  const note = h("p", { class: "muted", text: `${data.nodes.length} nodes: the table lists the ${nodes.length} not in sync.` });
  return h("div", { id: "graph-nodes" }, note, listing);
}

function sameNodes(cy, data) {
  const nodes = groupedGraph(data).nodes;
  return cy.nodes().length === nodes.length && nodes.every((n) => cy.$id(n.id).nonempty());
}

async function viewGraph(main, _arg, refresh) {
  const data = await api("/graph");
  banners(data);
  if (refresh && state.cy && document.getElementById("graph-nodes") && sameNodes(state.cy, data)) {
    // a refresh of the same graph: new data and classes on the nodes, zoom and pan kept
    state.cy.batch(() => {
      for (const el of graphElements(groupedGraph(data))) {
        if (el.group !== "nodes") continue;
        const node = state.cy.$id(el.data.id);
        node.data(el.data);
        node.classes(el.classes);
      }
    });
    document.getElementById("graph-nodes").replaceWith(graphTable(data));
    return;
  }
  if (state.cy) { state.cy.destroy(); state.cy = null; }
  const container = h("div", { id: "graph" });
  put(main, h("h2", { text: "Workspace graph" }), h("p", { class: "muted", text: "Model → Image → Deployment → Endpoint. Click a node for its details. Red: drifted by hand; orange: pending (git changed)." }), container, graphTable(data));
  if (!window.cytoscape) return;
  const cy = window.cytoscape({
    container,
    elements: graphElements(groupedGraph(data)),
    layout: { name: "preset" },
    wheelSensitivity: 0.3,
    pixelRatio: 1,
    textureOnViewport: true,
    hideEdgesOnViewport: data.nodes.length > 300,
    style: [
      {
        selector: "node",
        style: {
          shape: "round-rectangle", width: 280, height: 90, label: "data(label)", "text-wrap": "wrap", "text-max-width": 270,
          "text-valign": "center", "font-size": 11, "min-zoomed-font-size": 6, "background-color": "#fff", "border-width": 2, "border-color": "data(colour)",
        },
      },
      { selector: "node.by-hand", style: { "border-width": 5, "background-color": "#fef2f2" } },
      { selector: "node.unknown", style: { "border-style": "dashed" } },
      { selector: "edge", style: { width: 1.5, "curve-style": data.edges.length > 300 ? "haystack" : "bezier", "target-arrow-shape": "triangle", "line-color": "#9ca3af", "target-arrow-color": "#9ca3af" } },
    ],
  });
  cy.on("tap", "node", (evt) => { location.hash = evt.target.data("href"); });
  cy.fit(undefined, 20);
  state.cy = cy;
}

async function viewRegistry(main) {
  const r = await api("/registry");
  if (r.error) {
    put(main, h("h2", { text: "Registry" }), h("p", { class: "banner bad", text: r.error }));
    return;
  }
  if (!r.present) {
    put(main, h("h2", { text: "Registry" }), h("p", { class: "banner", "data-state": "no-registry" }, "No registry yet. ", h("code", { class: "cmd", text: r.hint })));
    return;
  }
  const aliasRows = [];
  for (const [model, aliases] of Object.entries(r.aliases || {})) {
    for (const [alias, events] of Object.entries(aliases)) {
      aliasRows.push([model, alias, events.map((e) => `${e.version === null ? "(removed)" : "v" + e.version} at ${e.at}`).join(" → ") || "-"]);
    }
  }
  put(main, 
    h("h2", { text: "Models" }),
    table(
      ["model", "version", "framework", "tags", "aliases", "archived", "used by images", "deployed by", "protection"],
      r.models.map((m) => [
        m.name, String(m.version), m.framework,
        Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "-",
        m.aliases.join(", ") || "-",
        m.archived ? badge("archived", "pending") : "no",
        m.images.join(", ") || "-",
        m.deployments.join(", ") || "-",
        m.deleteProtected ? badge("delete protected (in use)", "pending") : "-",
      ]),
    ),
    h("h3", { text: "Aliases and their history" }),
    table(["model", "alias", "history"], aliasRows),
    h("h2", { text: "Images" }),
    table(
      ["image", "version", "models", "environment", "reference", "fingerprint", "tags", "deployed by"],
      r.images.map((i) => [
        i.name, String(i.version), i.models.join(", "), i.environment, h("code", { text: dash(i.imageRef) }), h("code", { text: i.fingerprint }),
        Object.entries(i.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "-", i.deployments.join(", ") || "-",
      ]),
    ),
  );
}

async function viewDeployments(main) {
  const d = await api("/deployments");
  banners(d);
  put(main, 
    h("h2", { text: "Deployments" }),
    table(
      ["name", "target", "image", "URL", "replicas", "health", "drift", "last rollout", "auth", "fingerprint"],
      d.items.map((n) => [
        link("#/deployment/" + encodeURIComponent(n.name), n.name), `${n.target} (${n.targetType})`, `${n.image}:${dash(n.imageVersion)}`,
        dash(n.url), `${dash(n.ready)}/${dash(n.desired)}${n.autoscale ? " (autoscaled)" : ""}`, badge(n.health, n.health),
        badge(n.drift, n.drift), dash(n.lastRollout), n.auth ? n.auth.mode : "-", h("code", { text: dash(n.fingerprint) }),
      ]),
      (i) => (d.items[i].drift === "by-hand" ? "stands-out" : null),
    ),
  );
}

async function viewDeployment(main, name) {
  const d = await api("/deployments/" + encodeURIComponent(name));
  const n = d.deployment;
  const fields = [
    ["target", `${n.target} (${n.targetType})`], ["image", `${n.image}:${dash(n.imageVersion)}`], ["URL", dash(n.url)],
    ["replicas", `${dash(n.ready)} ready of ${dash(n.desired)}${n.autoscale ? " (autoscaled)" : ""}`], ["health", n.health],
    ["conditions", n.conditions.join(", ") || "-"], ["containers", n.containers.join(", ") || "-"],
    ["auth", n.auth ? `${n.auth.mode}${n.auth.secretRef ? " (secret " + n.auth.secretRef + ")" : ""}` : "-"],
    ["drift", n.drift], ["last rollout", dash(n.lastRollout)], ["plan", n.action ? n.action + (n.reasons.length ? ": " + n.reasons.join("; ") : "") : "-"],
    ["fingerprint", `${n.fingerprint} (live ${dash(n.liveFingerprint)})`], ["source", n.source],
  ];
  const activity = d.activity.replicas.map((r) => h("div", {}, h("h4", { text: r.source }), h("pre", { class: "activity", text: r.lines.join("\n") || "(no lines)" })));
  put(main, 
    h("h2", { text: "Deployment " + n.name }),
    table(["field", "value"], fields.map(([k, v]) => [k, v])),
    n.action && n.action !== "no-op" ? h("p", {}, "To make it match git: ", h("code", { class: "cmd", text: n.command })) : null,
    h("p", {}, link("#/monitoring/" + encodeURIComponent(n.name), "Monitoring →")),
    h("h3", { text: "Recent activity (container logs; pod conditions and events)" }),
    d.activity.note ? h("p", { class: "muted", text: d.activity.note }) : null, ...activity,
    h("h3", { text: "Applies" }), historyTable(d.history),
  );
}

async function viewEndpoints(main) {
  const d = await api("/endpoints");
  banners(d);
  const split = (t) => (t ? Object.entries(t).map(([k, v]) => `${k} ${v}%`).join(", ") : "-");
  put(main, 
    h("h2", { text: "Endpoints" }),
    table(
      ["name", "target", "URL", "split (git)", "routed now", "health", "drift"],
      d.items.map((n) => [n.name, `${n.target} (${n.targetType})`, dash(n.url), split(n.traffic), split(n.liveTraffic), badge(n.health, n.health), badge(n.drift, n.drift)]),
    ),
  );
}

function historyTable(actions) {
  return table(
    ["when", "run", "resource", "action", "result", "versions", "target", "who", "commit", "why"],
    actions.map((a) => [
      dash(a.finishedAt || a.startedAt), a.run, a.resource, a.action, badge(a.result, a.standsOut ? "bad" : a.result),
      [a.image, (a.models || []).join(", ")].filter(Boolean).join(" ") || "-", dash(a.target), dash(a.user),
      dash(a.commit) + (a.dirty ? "*" : ""), a.error ? a.error.slice(0, 300) : a.reasons.join("; "),
    ]),
    (i) => (actions[i].standsOut ? "stands-out" : null),
  );
}

async function viewHistory(main) {
  const r = await api("/history");
  put(main, 
    h("h2", { text: "Apply history" }),
    r.error ? h("p", { class: "banner bad", text: r.error })
      : r.present ? historyTable(r.actions) : h("p", { class: "banner", "data-state": "no-registry", text: "No history yet: nothing was applied." }),
  );
}

function lineChart(id, title, labels, datasets) {
  const canvas = h("canvas", { id });
  const box = h("div", { class: "chart" }, canvas);
  const chart = new window.Chart(canvas, {
    type: "line",
    data: { labels, datasets },
    options: { animation: false, maintainAspectRatio: false, plugins: { title: { display: true, text: title } }, scales: { y: { beginAtZero: true } } },
  });
  state.charts[id] = chart;
  return box;
}

async function viewMonitoring(main, name) {
  const deps = await api("/deployments");
  const picker = h("p", {}, "Deployment: ", ...deps.items.map((n) => [link("#/monitoring/" + encodeURIComponent(n.name), n.name), " "]));
  if (!name) {
    put(main, h("h2", { text: "Monitoring" }), picker);
    return;
  }
  const m = await api("/monitoring/" + encodeURIComponent(name));
  Object.values(state.charts).forEach((c) => c.destroy());
  state.charts = {};
  const children = [h("h2", { text: "Monitoring " + name }), picker];
  if (m.error) children.push(h("p", { class: "banner", text: m.error }));
  const charts = h("div", { class: "charts" });
  for (const [model, points] of Object.entries(m.points || {})) {
    const labels = points.map((p) => new Date(p.t).toLocaleTimeString());
    charts.append(
      lineChart("rate-" + slug(model), `${model}: requests/s`, labels, [{ label: "req/s", data: points.map((p) => p.rate) }]),
      lineChart("errors-" + slug(model), `${model}: error rate`, labels, [{ label: "errors (4xx+5xx)", data: points.map((p) => p.errorRate) }]),
      lineChart("latency-" + slug(model), `${model}: latency (ms)`, labels, [
        { label: "p50", data: points.map((p) => p.p50) }, { label: "p99", data: points.map((p) => p.p99) },
      ]),
    );
  }
  if (!Object.keys(m.points || {}).length) children.push(h("p", { class: "muted", text: `Sampling every ${m.interval || 5} s (${m.scrapes || 0} scrapes so far): points appear from the second scrape on.` }));
  children.push(charts);
  const drift = m.drift;
  if (drift) {
    children.push(h("h3", { text: `Feature drift (PSI) over the last ${dash(drift.since)}: ${drift.records} records, baseline ${dash(drift.baseline)}` }));
    if (drift.error) children.push(h("p", { class: "muted", text: drift.error }));
    for (const w of drift.baselineWarnings || []) children.push(h("p", { class: "banner", text: "baseline: " + w }));
    if (drift.baselineError) children.push(h("p", { class: "banner", text: "baseline: " + drift.baselineError }));
    if (drift.features.length) {
      const canvas = h("canvas", { id: "psi" });
      children.push(h("div", { class: "chart" }, canvas));
      children.push(table(["feature", "count", "mean", "PSI", "drift"], drift.features.map((f) => [f.feature, String(f.count), f.mean.toFixed(3), f.psi === null ? "-" : f.psi.toFixed(3), badge(f.drift, f.drift === "significant" ? "bad" : f.drift)])));
      put(main, ...children);
      state.charts.psi = new window.Chart(canvas, {
        type: "bar",
        data: { labels: drift.features.map((f) => f.feature), datasets: [{ label: "PSI vs baseline (0.1 moderate, 0.25 significant)", data: drift.features.map((f) => f.psi) }] },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
      });
      return;
    }
  }
  put(main, ...children);
}

async function viewPlans(main, params) {
  const p = await api("/plan");
  banners(p);
  const base = h("input", { name: "base", placeholder: "base (e.g. origin/main)", value: params.get("base") || "" });
  const head = h("input", { name: "head", placeholder: "head (HEAD)", value: params.get("head") || "" });
  const form = h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); location.hash = "#/plans?" + new URLSearchParams({ base: base.value, head: head.value || "HEAD" }); } }, base, head, h("button", { type: "submit", text: "Compare" }));
  const children = [
    h("h2", { text: "Plan: git against live state" }),
    p.plan ? h("pre", { id: "plan-markdown", text: p.plan.markdown }) : h("p", { class: "banner", text: "No plan: live state could not be read (see above)." }),
    p.plan && p.plan.command ? h("p", {}, "Apply it with: ", h("code", { class: "cmd", text: p.plan.command })) : null,
    h("h2", { text: "Pull-request plan between two revisions" }), form,
  ];
  if (params.get("base")) {
    // two git revisions do not change while the page is open: compared once, not at every refresh
    const query = new URLSearchParams({ base: params.get("base"), head: params.get("head") || "HEAD" }).toString();
    if (!state.pr || state.pr.query !== query) {
      try {
        state.pr = { query, markdown: (await api("/plan/pr?" + query)).markdown };
      } catch (err) {
        state.pr = { query, error: String(err.message) };
      }
    }
    children.push(state.pr.error ? h("p", { class: "banner bad", text: state.pr.error }) : h("pre", { id: "pr-markdown", text: state.pr.markdown }));
  }
  put(main, ...children);
}

// --- routing and refresh --------------------------------------------------------------------------

const VIEWS = { graph: viewGraph, registry: viewRegistry, deployments: viewDeployments, deployment: viewDeployment, endpoints: viewEndpoints, history: viewHistory, monitoring: viewMonitoring, plans: viewPlans };

function route() {
  const [path, query] = (location.hash.slice(2) || "graph").split("?");
  const [view, arg] = path.split("/");
  return { view: VIEWS[view] ? view : "graph", arg: arg ? decodeURIComponent(arg) : null, params: new URLSearchParams(query || "") };
}

async function render() {
  const r = route();
  const main = document.getElementById("view");
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === r.view || (r.view === "deployment" && a.dataset.view === "deployments"));
  const refresh = state.view === r.view && state.arg === (r.arg || r.params.toString());
  try {
    if (state.cy && r.view !== "graph") { state.cy.destroy(); state.cy = null; }
    await VIEWS[r.view](main, r.view === "plans" ? r.params : r.arg, refresh);
    main.dataset.state = "ready";
  } catch (err) {
    if (state.cy) { state.cy.destroy(); state.cy = null; }
    put(main, h("p", { class: "banner bad", text: "Cannot load this view: " + err.message }));
    main.dataset.state = "error";
  }
  main.dataset.view = r.view;
  state.view = r.view;
  state.arg = r.arg || r.params.toString();
  state.lastRender = Date.now();
  document.getElementById("refreshed").textContent = "updated " + new Date().toLocaleTimeString();
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(() => { if (!document.hidden) render(); }, REFRESH_MS);
}

window.addEventListener("hashchange", () => { render(); schedule(); });
window.addEventListener("DOMContentLoaded", () => { render(); schedule(); });

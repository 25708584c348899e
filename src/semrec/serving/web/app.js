// semrec's try-it page: plain JavaScript over the service's own JSON API (POST /recommend, POST /feedback).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { history: [], titles: {}, sessionUser: "web-" + Math.random().toString(36).slice(2, 10), pending: 0 };

function mode() { return document.querySelector("input[name=mode]:checked").value; }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function apiKey() { return $("api-key").value.trim(); }

// The key (when typed) goes with every request: it also opens a service started with --read-requires-key.
function send(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (apiKey()) headers["X-API-Key"] = apiKey();
  return body === undefined ? fetch(path, { headers }) : fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
}

// The user whose stored history feedback goes to: the known user, or this page's session user.
function feedbackUser() { return mode() === "user" && $("user-id").value.trim() ? $("user-id").value.trim() : state.sessionUser; }

function query() {
  const body = { k: Math.max(1, Math.min(50, parseInt($("k").value, 10) || 10)), explain: true,
                 diversity: parseFloat($("diversity").value) };
  const context = $("context").value.trim();
  if (context) body.context = { occasion: context };
  const m = mode();
  if (m === "text" && $("text").value.trim()) body.text = $("text").value.trim();
  if (m === "user" && $("user-id").value.trim()) body.user_id = $("user-id").value.trim();
  if (apiKey() && state.history.length) body.user_id = feedbackUser();  // the store holds the liked items
  else if (state.history.length) body.history = state.history.slice();
  return body;
}

async function recommend() {
  const ticket = ++state.pending;
  $("status").textContent = "Computing…";
  $("go").disabled = true;
  try {
    const response = await send("/recommend", query());
    const payload = await response.json();
    if (ticket !== state.pending) return;  // a newer request was sent meanwhile
    if (!response.ok) { $("status").textContent = "Error " + response.status + ": " + describe(payload); return; }
    show(payload);
  } catch (error) {
    $("status").textContent = "The service did not answer: " + error;
  } finally {
    if (ticket === state.pending) $("go").disabled = false;
  }
}

function describe(payload) {
  if (typeof payload.detail === "string") return payload.detail;
  if (Array.isArray(payload.detail)) return payload.detail.map((d) => d.loc.join(".") + ": " + d.msg).join("; ");
  return JSON.stringify(payload);
}

function show(payload) {
  const list = $("results");
  list.replaceChildren();
  const notes = payload.notes.length ? " · " + payload.notes.join(" · ") : "";
  $("status").textContent = `${payload.items.length} items from ${payload.source} (model version ${payload.model_version})${notes}`;
  for (const item of payload.items) {
    state.titles[item.item_id] = item.title;
    const meta = Object.entries(item.attributes || {}).map(([k, v]) => `${k}: ${v.split("|").join(", ")}`).join(" · ");
    const liked = state.history.includes(item.item_id);
    list.append(el("li", { "data-item-id": item.item_id },
      el("div", { class: "title", text: item.title }),
      meta ? el("div", { class: "meta", text: meta }) : null,
      item.reason ? el("p", { class: "reason", text: item.reason }) : null,
      el("button", { type: "button", class: "secondary like", "aria-pressed": String(liked),
                     "aria-label": `I like ${item.title}`, text: liked ? "Liked" : "I like this",
                     onclick: () => like(item.item_id, item.title) })));
  }
}

async function like(itemId, title) {
  if (state.history.includes(itemId)) return;
  state.titles[itemId] = title;
  if (apiKey()) {
    const response = await send("/feedback", { user_id: feedbackUser(), item_id: itemId, type: "click" });
    if (!response.ok) { $("status").textContent = "Feedback refused: " + describe(await response.json()); return; }
  }
  state.history.push(itemId);
  drawHistory();
  await recommend();
}

function drawHistory() {
  const list = $("history");
  list.replaceChildren();
  state.history.forEach((itemId, n) => list.append(el("li", {},
    el("button", { type: "button", class: "secondary", "aria-label": `Remove ${state.titles[itemId]} from the history`,
                   text: state.titles[itemId] + " ✕", onclick: () => {
                     state.history.splice(n, 1); drawHistory(); recommend(); } }))));
  if (!state.history.length) list.append(el("li", { class: "meta", text: "empty" }));
}

let searchTimer = null;
async function search() {
  const q = $("search").value.trim();
  const list = $("search-results");
  if (q.length < 2) { list.replaceChildren(); return; }
  const response = await send("/ui/search?" + new URLSearchParams({ q }));
  if (!response.ok) return;
  list.replaceChildren();
  for (const item of await response.json())
    list.append(el("li", {}, el("button", { type: "button", class: "secondary", text: item.title,
      "aria-label": `Add ${item.title} to the history`, onclick: () => like(item.item_id, item.title) })));
}

// A small SVG chart: series of [x, y, label] points, with a data table for screen readers.
function chart(container, series, xLabel, yLabel) {
  const W = 560, H = 320, L = 56, R = 16, T = 12, B = 44;
  const points = series.flatMap((s) => s.points);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1], [y0, y1] = [0, Math.max(...ys) * 1.1 || 1];
  const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R), sy = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  const colors = ["#0b57d0", "#d93025", "#188038", "#f29900", "#9334e6", "#5f6368"];
  let svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${yLabel} against ${xLabel}">`;
  svg += `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#888"/>`;
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4, x = x0 + ((x1 - x0) * i) / 4;
    svg += `<text x="${L - 6}" y="${sy(y) + 4}" font-size="11" text-anchor="end">${y.toFixed(3)}</text>`;
    svg += `<text x="${sx(x)}" y="${H - B + 16}" font-size="11" text-anchor="middle">${+x.toFixed(3)}</text>`;
  }
  svg += `<text x="${(L + W) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">${xLabel}</text>`;
  svg += `<text x="14" y="${(T + H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">${yLabel}</text>`;
  series.forEach((s, n) => {
    const c = colors[n % colors.length];
    if (s.points.length > 1) svg += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map((p) => sx(p[0]) + "," + sy(p[1])).join(" ")}"/>`;
    for (const p of s.points) svg += `<circle cx="${sx(p[0])}" cy="${sy(p[1])}" r="${s.points.length > 1 ? 3 : 6}" fill="${c}"/>`;
    svg += `<rect x="${W - R - 170}" y="${T + 4 + n * 16}" width="10" height="10" fill="${c}"/><text x="${W - R - 155}" y="${T + 13 + n * 16}" font-size="11"></text>`;
  });
  svg += "</svg>";
  container.innerHTML = svg;
  // legend names and the data table are set as text (never parsed as HTML)
  container.querySelectorAll("svg text:empty").forEach((node, n) => { node.textContent = series[n].name; });
  const table = el("table", {}, el("tr", {}, el("th", { text: "series" }), el("th", { text: "point" }),
                                    el("th", { text: xLabel }), el("th", { text: yLabel })));
  for (const s of series) for (const p of s.points)
    table.append(el("tr", {}, el("td", { text: s.name }), el("td", { text: String(p[2] ?? "") }),
                     el("td", { text: p[0].toFixed(4) }), el("td", { text: p[1].toFixed(4) })));
  container.append(el("details", {}, el("summary", { text: "Data" }), table));
}

async function reports(available) {
  if (!available.length) return;
  $("reports").hidden = false;
  if (available.includes("handover")) {
    const r = await (await send("/ui/reports/handover")).json();
    const series = Object.entries(r.curve).map(([name, ys]) => ({ name, points: ys.map((y, i) => [r.ns[i], y, "n=" + r.ns[i]]) }));
    $("handover").hidden = false;
    chart($("handover").querySelector(".plot"), series, "items the new user has rated", `NDCG@${r.k}`);
  }
  if (available.includes("frontier")) {
    const r = await (await send("/ui/reports/frontier")).json();
    const names = [...new Set(r.points.map((p) => p.reranker))];
    const series = names.map((name) => ({ name: `${r.base} + ${name}`, points: r.points.filter((p) => p.reranker === name)
      .map((p) => [p.metrics.ILD, p.metrics.NDCG, "diversity " + p.diversity]) }));
    for (const ref of r.references) series.push({ name: ref.label, points: [[ref.metrics.ILD, ref.metrics.NDCG, ref.label]] });
    $("frontier").hidden = false;
    chart($("frontier").querySelector(".plot"), series, `ILD@${r.k}`, `NDCG@${r.k}`);
  }
}

async function start() {
  document.querySelectorAll("input[name=mode]").forEach((radio) => radio.addEventListener("change", () => {
    document.querySelectorAll("[data-mode]").forEach((node) => { node.hidden = node.dataset.mode !== mode(); });
  }));
  $("diversity").addEventListener("input", () => { $("diversity-value").textContent = (+$("diversity").value).toFixed(1); });
  $("search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 200); });
  $("query").addEventListener("submit", (event) => { event.preventDefault(); recommend(); });
  drawHistory();
  const config = await (await send("/ui/config")).json();
  $("model-info").textContent = `${config.n_items.toLocaleString()} items · ${config.n_users.toLocaleString()} users · ` +
    `scorer ${config.scorer} · model version ${config.model_version}`;
  for (const id of config.sample_users) $("sample-users").append(el("option", { value: id }));
  if (config.sample_users.length) $("user-id").placeholder = "e.g. " + config.sample_users.slice(0, 3).join(", ");
  await reports(config.reports);
}

start();

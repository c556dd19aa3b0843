// The vana-ops dashboard: draws each update the gateway sends over Server-Sent Events. Every value is
// written with textContent or as an SVG attribute, never as markup, so nothing from a request can run here.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2f7ed8", "#e4572e", "#29a36a", "#a05fd8", "#d8a22f"];

function text(id, value) { $(id).textContent = value; }
function number(value) { return value === null || value === undefined ? "–" : Math.round(value).toLocaleString("en"); }
function seconds(value) {
  if (value === null || value === undefined) return "–";
  return value < 1 ? (value * 1000).toFixed(value < 0.01 ? 2 : 0) + " ms" : value.toFixed(2) + " s";
}
// A span of time as people say it: "45 s", "12 m 5 s", "23 h 59 m", "3 d 4 h".
function duration(total) {
  if (total === null || total === undefined) return "–";
  const s = Math.max(0, Math.round(total));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
  if (d > 0) return d + " d " + h + " h";
  if (h > 0) return h + " h " + m + " m";
  if (m > 0) return m + " m " + (s % 60) + " s";
  return s + " s";
}
function percent(value) { return (value * 100).toFixed(value < 0.01 && value > 0 ? 2 : 1) + " %"; }
function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB"];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return value.toFixed(unit ? 1 : 0) + " " + units[unit];
}
function ago(epoch) {
  const age = Math.max(0, Date.now() / 1000 - epoch);
  if (age < 60) return Math.round(age) + " s ago";
  if (age < 3600) return Math.round(age / 60) + " min ago";
  return new Date(epoch * 1000).toLocaleString();
}
function element(tag, content, className) {
  const node = document.createElement(tag);
  if (content !== undefined) node.textContent = content;
  if (className) node.className = className;
  return node;
}
function rows(tableId, items, cells) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...items.map((item) => {
    const row = document.createElement("tr");
    for (const cell of cells(item)) {
      row.append(cell instanceof Node ? wrap(cell) : element("td", cell));
    }
    return row;
  }));
  if (!items.length) {
    const row = document.createElement("tr");
    const cell = element("td", "none", "muted");
    cell.colSpan = $(tableId).tHead.rows[0].cells.length;
    row.append(cell);
    body.append(row);
  }
}
function wrap(node) { const cell = document.createElement("td"); cell.append(node); return cell; }
function list(id, items, render) {
  const nodes = items.map(render);
  $(id).replaceChildren(...(nodes.length ? nodes : [element("li", "none", "muted")]));
}

function pill(id, label, state) {
  const node = $(id);
  node.textContent = label;
  node.className = "pill " + state;
}

// A step line: each bin a flat segment as wide as the bin, joined to its neighbours; a bin without data
// breaks the line, so a lone busy bin still shows.
function polyline(svg, values, max, colour) {
  const width = 300 / Math.max(1, values.length);
  let path = "";
  let joined = false;
  values.forEach((value, index) => {
    if (value === null) { joined = false; return; }
    const y = (100 - 95 * value / max).toFixed(1);
    path += (joined ? " L" : " M") + (index * width).toFixed(1) + " " + y + " L" + ((index + 1) * width).toFixed(1) + " " + y;
    joined = true;
  });
  if (!path) return;
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("d", path.trim());
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", colour);
  line.setAttribute("stroke-width", "2");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
}

function chart(id, series, label) {
  const svg = $(id);
  svg.replaceChildren();
  const all = series.flatMap((one) => one.values.filter((value) => value !== null));
  const max = Math.max(1e-9, ...all) * 1.1;
  const scale = document.createElementNS(SVG, "text");
  scale.setAttribute("x", "2");
  scale.setAttribute("y", "9");
  scale.setAttribute("class", "scale");
  scale.textContent = all.length ? label(max / 1.1) : "no traffic in the window";
  svg.append(scale);
  series.forEach((one, index) => polyline(svg, one.values, max, COLOURS[index % COLOURS.length]));
}

function unblockButton(address) {
  const button = element("button", "Unblock", "unblock");
  button.dataset.address = address;
  button.addEventListener("click", async () => {
    button.disabled = true;
    const response = await fetch("dashboard/blocks/" + encodeURIComponent(address), {
      method: "DELETE", headers: { "X-Vana-Dashboard": "1" }, credentials: "same-origin",
    });
    button.textContent = response.ok ? "Unblocked" : "Failed (" + response.status + ")";
  });
  return button;
}

function draw(update) {
  const health = update.health;
  pill("health", "health " + health.status, health.status === "ok" ? "good" : health.status === "degraded" ? "warn" : "bad");
  pill("readiness", update.readiness.ready ? "ready" : "not ready", update.readiness.ready ? "good" : "bad");
  text("updated", "updated " + new Date(update.at * 1000).toLocaleTimeString());

  const traffic = update.traffic;
  const perSecond = update.routes.reduce((sum, route) => sum + route.requests_per_second, 0);
  text("requests-per-second", perSecond.toFixed(perSecond < 10 ? 2 : 0));
  text("requests-total", number(traffic.requests));
  text("error-ratio", percent(traffic.error_ratio));
  text("refused", number(traffic.refused));
  text("refused-detail", Object.entries(traffic.refusals).filter(([, count]) => count > 0)
    .map(([reason, count]) => reason + " " + count).join(", ") || "by the layer");
  text("rate-limited", number(traffic.rate_limited));
  text("blocked-count", number(update.blocked_addresses));
  const process = update.process || {};
  text("cpu", process.cpu_cores === null || process.cpu_cores === undefined ? "–" : process.cpu_cores.toFixed(2));
  text("memory", bytes(process.resident_bytes));
  text("log-drops", number(update.logging.dropped_lines));
  text("alerts-firing", number(update.alerts.active.length));

  chart("chart-rate", [{ values: update.charts.requests_per_second }], (max) => "max " + max.toFixed(2) + "/s");
  chart("chart-latency", update.charts.p99.map((route) => ({ values: route.p99 })), (max) => "max " + seconds(max));
  $("chart-legend").replaceChildren(...update.charts.p99.map((route, index) => {
    const item = element("span", route.route, "key");
    item.dataset.colour = String(index % COLOURS.length);
    return item;
  }));

  rows("routes", update.routes, (route) => [route.route, route.requests_per_second.toFixed(2),
    seconds(route.p50), seconds(route.p95), seconds(route.p99), number(route.requests), number(route.server_errors)]);
  rows("ai", update.ai, (route) => [route.route, seconds(route.ttft_p50), seconds(route.ttft_p95),
    number(route.answers), number(route.input_tokens_per_minute), number(route.output_tokens_per_minute),
    number(route.without_content)]);
  text("streams", Object.entries(traffic.streams).map(([outcome, count]) => outcome + " " + number(count)).join(", ") || "none");
  list("statuses", Object.entries(traffic.statuses), ([status, count]) =>
    element("li", status + ": " + number(count), "chip s" + status.charAt(0)));
  list("findings", update.findings, (finding) =>
    element("li", finding.category + " (" + finding.action + "): " + number(finding.count), "chip"));
  const alert = (item) => element("li", item.level + " · " + item.message + " · " + ago(item.at), "alert " + item.level);
  list("alerts-active", update.alerts.active, alert);
  list("alerts-recent", update.alerts.recent, (item) =>
    element("li", item.transition + " · " + item.level + " · " + item.message + " · " + ago(item.at), "alert " + item.level));
  rows("events", update.events, (event) => {
    const details = event.details || {};
    const rule = details.rule_id === undefined ? "" : details.category + " #" + details.rule_id;
    return [ago(event.timestamp), event.event_type, event.severity, event.source_ip || "", rule,
      details.action || (event.event_type === "input_rejected" ? "refuse" : ""), details.route || ""];
  });
  rows("blocks", update.blocks, (block) => [block.address, block.reason, number(block.offences),
    duration(block.remaining_seconds), unblockButton(block.address)]);
  text("footer", "uptime " + duration(update.uptime_seconds) + " · " + update.dashboard.clients +
    " dashboard(s) open · " + update.dashboard.dropped_updates + " updates skipped by slow pages");
}

function connect() {
  const source = new EventSource("dashboard/events");
  source.addEventListener("open", () => pill("connection", "live", "good"));
  source.addEventListener("update", (message) => draw(JSON.parse(message.data)));
  source.addEventListener("error", () => pill("connection", "reconnecting…", "warn"));
}

connect();

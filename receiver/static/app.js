// The receiver: a live list of incidents from the notifier's feed (/api/events), filterable by category.
import { alertsState, enableAlerts, notify, registerForPush, registerServiceWorker } from "./alerts.js";

const LABELS = {
  fire: "Fire", accident: "Accident", natural_hazard: "Natural hazard",
  violence: "Violence", hazmat: "Hazardous materials", other: "Other",
};
const SAMPLES_SHOWN = 3;
const SHOWN_MAX = 200; // a phone does not need more on one screen

const incidents = new Map(); // id ▸ incident, as the notifier last described it
const cards = new Map(); // id ▸ <li>
let filter = categoryFromHash();
const fresh = new Set(); // ids of new or alerting incidents since the last render: their cards flash
let renderQueued = false;

const $ = (selector) => document.querySelector(selector);

async function start() {
  const registration = await registerServiceWorker();
  const config = await fetch("/api/config").then((r) => r.json()).catch(() => null);
  buildFilters(config?.categories ?? Object.keys(LABELS));
  setUpAlerts(config, registration);
  connect();
  setInterval(queueRender, 30_000); // keeps "3 min ago" true
  window.addEventListener("hashchange", () => { filter = categoryFromHash(); markFilter(); queueRender(); });
}

function connect() {
  const feed = new EventSource("/api/events");
  feed.addEventListener("open", () => setStatus("live", "Live"));
  feed.addEventListener("error", () => setStatus("connecting", "Reconnecting…"));
  feed.addEventListener("snapshot", (message) => {
    incidents.clear();
    for (const incident of JSON.parse(message.data).incidents) incidents.set(incident.id, incident);
    queueRender();
  });
  feed.addEventListener("incident", (message) => {
    const event = JSON.parse(message.data);
    const known = incidents.get(event.incident.id);
    if (known && known.count > event.incident.count) return; // an older state, arriving late
    incidents.set(event.incident.id, event.incident);
    for (const gone of event.absorbed ?? []) incidents.delete(gone); // merged into this one: one event
    queueRender(event.kind === "created" || event.alert ? event.incident.id : null); // only news flashes
    if (event.alert) notify(event, LABELS);
  });
}

function buildFilters(categories) {
  const nav = $("#filters");
  for (const category of categories) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.category = category;
    button.textContent = LABELS[category] ?? category;
    nav.append(button);
  }
  nav.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-category]");
    if (!button) return;
    filter = button.dataset.category || null;
    history.replaceState(null, "", filter ? `#category=${filter}` : location.pathname);
    markFilter();
    queueRender();
  });
  markFilter();
}

function markFilter() {
  for (const button of document.querySelectorAll("#filters button")) {
    button.setAttribute("aria-pressed", String((button.dataset.category || null) === filter));
  }
}

function setUpAlerts(config, registration) {
  const button = $("#enable-alerts");
  const state = $("#alerts-state");
  const show = () => {
    const permission = alertsState();
    button.hidden = permission !== "default";
    state.textContent = {
      granted: "Alerts on for this device.",
      denied: "Alerts are blocked in this browser's settings.",
      unsupported: "This browser cannot show alerts.",
      default: "",
    }[permission];
  };
  button.addEventListener("click", async () => {
    await enableAlerts();
    show();
    if (alertsState() === "granted") pushRegistration(config, registration);
  });
  show();
  if (alertsState() === "granted") pushRegistration(config, registration);
}

async function pushRegistration(config, registration) {
  if (!config?.firebase || !registration) return; // no Firebase web config: alerts come from the live feed only
  const result = await registerForPush(config.firebase, registration);
  if (!result.ok) console.warn("push registration:", result.reason);
}

function queueRender(freshId) {
  if (freshId) fresh.add(freshId);
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function render() {
  const shown = [...incidents.values()]
    .filter((incident) => !filter || incident.category === filter)
    .sort((a, b) => b.last_seen - a.last_seen)
    .slice(0, SHOWN_MAX);
  const list = $("#incidents");
  const keep = new Set(shown.map((incident) => incident.id));
  for (const [id, card] of cards) {
    if (!keep.has(id)) { card.remove(); cards.delete(id); }
  }
  shown.forEach((incident, position) => {
    let card = cards.get(incident.id);
    if (!card) {
      card = $("#incident-template").content.firstElementChild.cloneNode(true);
      cards.set(incident.id, card);
    }
    fill(card, incident);
    if (fresh.has(incident.id)) flash(card);
    if (list.children[position] !== card) list.insertBefore(card, list.children[position] ?? null);
  });
  fresh.clear();
  $("#empty").hidden = shown.length > 0;
  const total = [...incidents.values()].filter((i) => !filter || i.category === filter).length;
  $("#summary").textContent = total
    ? `${total} incident${total === 1 ? "" : "s"}${filter ? ` · ${LABELS[filter] ?? filter}` : ""}`
    : "";
}

function flash(card) {
  card.classList.remove("fresh");
  void card.offsetWidth; // restart the animation
  card.classList.add("fresh");
}

function fill(card, incident) {
  card.dataset.id = incident.id;
  card.dataset.category = incident.category;
  card.querySelector(".category").textContent = LABELS[incident.category] ?? incident.category;
  const count = card.querySelector(".count");
  count.textContent = String(incident.count);
  count.classList.toggle("one", incident.count === 1);
  card.querySelector(".title").textContent = incident.title || LABELS[incident.category] || incident.category;
  card.querySelector(".summary").textContent = incident.summary ?? "";
  card.querySelector(".keywords").textContent = incident.keywords.join(" · ");
  card.querySelector(".first").textContent = `First seen ${clock(incident.first_seen)}`;
  card.querySelector(".last").textContent = `last ${ago(incident.last_seen)}`;
  card.querySelector(".sources").textContent = sourcesText(incident.sources ?? {});
  const samples = card.querySelector(".samples");
  // the latest reports but the summary, shown above them already
  const latest = incident.samples.filter((sample) => sample.text !== incident.summary);
  samples.replaceChildren(...latest.slice(0, SAMPLES_SHOWN).map((sample) => {
    const item = document.createElement("li");
    item.textContent = sample.text;
    const source = document.createElement("span");
    source.className = "source";
    source.textContent = `${sample.source} · ${clock(sample.created_at)}`;
    item.append(source);
    return item;
  }));
}

// "3 crawler · 1 line": reports per source, the most first.
function sourcesText(sources) {
  return Object.entries(sources).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([source, n]) => `${n} ${source}`).join(" · ");
}

function clock(seconds) {
  const date = new Date(seconds * 1000);
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

function ago(seconds) {
  const minutes = Math.floor((Date.now() / 1000 - seconds) / 60);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ago`;
  return clock(seconds);
}

function setStatus(kind, text) {
  const status = $("#status");
  status.className = `status ${kind}`;
  status.textContent = text;
}

function categoryFromHash() {
  const match = /category=([a-z_]+)/.exec(location.hash);
  return match ? match[1] : null;
}

start();

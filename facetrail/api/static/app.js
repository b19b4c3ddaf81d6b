// facetrail dashboard: plain JS, no framework, no network beyond this server.
"use strict";
const API = "/api/v1";
const state = { token: sessionStorage.getItem("facetrail-token"), cameras: [], stream: null, poll: null };
const CAMERA_POLL_MS = 15000;
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTime = (iso) => new Date(iso).toLocaleString();

async function api(path, options = {}) {
  if (!state.token) throw new Error("signed out"); // never send "Bearer null"
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  const response = await fetch(API + path, Object.assign({}, options, { headers }));
  if (response.status === 401) { signOut("Your session ended; sign in again."); throw new Error("unauthorised"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.message || body.detail || response.statusText);
  }
  return response;
}
const json = async (path, options) => (await api(path, options)).json();

// Images need the bearer token, so they are fetched and shown as blob URLs.
async function image(url, alt) {
  if (!url) return el("div", { class: "noimg" }, "no image");
  try {
    const blob = await (await api(url.replace(API, ""))).blob();
    return el("img", { src: URL.createObjectURL(blob), alt });
  } catch (e) { return el("div", { class: "noimg" }, "unavailable"); }
}

function signOut(message) {
  state.token = null;
  sessionStorage.removeItem("facetrail-token");
  clearInterval(state.poll); state.poll = null;
  if (state.stream) state.stream.abort();
  document.querySelectorAll(".view").forEach((view) => { view.hidden = true; });
  $("alert-list").replaceChildren(); $("track-list").replaceChildren();
  if (typeof clearConsoles === "function") clearConsoles(); // nothing of one user's session stays in the page
  $("tabs").hidden = true; $("who").hidden = true; $("login-view").hidden = false;
  $("login-error").textContent = message || "";
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch(`${API}/login`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  $("password").value = "";
  if (response.status === 429) {
    $("login-error").textContent = `Too many failed logins: try again in ${response.headers.get("Retry-After")} s.`;
    return;
  }
  if (!response.ok) { $("login-error").textContent = "Wrong user name or password."; return; }
  state.token = (await response.json()).access_token;
  sessionStorage.setItem("facetrail-token", state.token);
  start();
});

$("logout").addEventListener("click", async () => {
  await api("/logout", { method: "POST" }).catch(() => {});
  signOut();
});

// Each role gets its consoles (consoles.js); operators and admins also the live feed.
async function start() {
  const me = await json("/me");
  state.role = me.role;
  $("user").textContent = `${me.username} (${me.role})`;
  $("login-view").hidden = true; $("who").hidden = false;
  showMatching(await json("/matching"));
  const views = showTabs(me.role);
  if (views.includes("app")) await startLive();
  await openView(views[0]);
}

async function startLive() {
  await loadSitePlan();
  await loadCameras();
  await Promise.all([loadAlerts(), loadTracks()]);
  streamAlerts();
  clearInterval(state.poll);
  state.poll = setInterval(() => loadCameras().catch(() => {}), CAMERA_POLL_MS);
}

// Operators weigh an alert by the rule that raised it: the model, its threshold, and the false-alert rate it was set for.
function showMatching(m) {
  const point = m.operating_point;
  const rate = (x) => `${(100 * x).toFixed(2)} %`;
  const calibrated = point
    ? `; calibrated ${point.calibrated_at.slice(0, 10)} for a false-alert rate of ${rate(point.target_fpir)} per search`
      + (point.per_pass_fpir === null ? "" : ` (${rate(point.per_pass_fpir)} per pass)`)
    : "";
  $("matching").textContent = `Matching: ${m.model}, threshold ${m.threshold.toFixed(3)}, ratio ${m.max_distance_ratio.toFixed(2)}`
    + (point ? calibrated : ` (${m.source})`);
  $("matching").hidden = false;
}

async function loadCameras() {
  const data = await json("/cameras");
  state.cameras = data.items;
  $("site").textContent = data.site;
  drawPlan();
  const body = $("health").querySelector("tbody");
  body.replaceChildren(...data.items.map((c) => {
    const row = el("tr", { "data-camera": c.camera_id });
    const health = c.health;
    const stateName = health ? health.state : "no report";
    // "recorded": the camera's footage was reprocessed, not streamed; nothing is wrong with it.
    const stateClass = { running: "state-running", recorded: "state-recorded" }[stateName] || "state-other";
    row.append(el("td", {}, c.name), el("td", { class: stateClass }, stateName),
      el("td", {}, health ? health.analysed_fps.toFixed(1) : "–"),
      el("td", {}, health && health.last_frame_at ? time(health.last_frame_at) : "–"));
    return row;
  }));
}

// The uploaded site plan (an admin's upload), drawn under the camera markers; null when there is none.
async function loadSitePlan() {
  if (state.planUrl) URL.revokeObjectURL(state.planUrl);
  state.planUrl = null; state.plan = null;
  const headers = { Authorization: `Bearer ${state.token}` };
  const extent = await fetch(`${API}/site-plan/extent`, { headers });
  if (!extent.ok) return;
  const image = await fetch(`${API}/site-plan`, { headers });
  if (!image.ok) return;
  state.plan = await extent.json();
  state.planUrl = URL.createObjectURL(await image.blob());
}

// With a site plan, metres are measured from its top-left corner over the extent the admin gave;
// without one, the cameras' own extent fills the frame.
function planScale() {
  if (state.plan) {
    const p = state.plan;
    const scale = Math.min(640 / p.width, 360 / p.height);
    const w = p.width * scale, h = p.height * scale, left = (640 - w) / 2, top = (360 - h) / 2;
    return (x, y) => [left + (x / p.width_m) * w, top + (y / p.height_m) * h];
  }
  return cameraScale();
}

function cameraScale() {
  const xs = state.cameras.map((c) => c.x), ys = state.cameras.map((c) => c.y);
  const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
  const scale = Math.min(470 / Math.max(maxX - minX, 1), 270 / Math.max(maxY - minY, 1));
  return (x, y) => [50 + (x - minX) * scale, 45 + (y - minY) * scale];
}

function drawPlan(track) {
  const plan = $("plan");
  plan.replaceChildren();
  if (state.planUrl) plan.append(svg("image", { id: "plan-image", href: state.planUrl, x: 0, y: 0, width: 640, height: 360, preserveAspectRatio: "xMidYMid meet" }));
  if (!state.cameras.length) { plan.append(svg("text", { x: 20, y: 30 }, "No cameras configured")); return; }
  const at = planScale();
  if (track) {
    const points = track.visits.filter((v) => v.x !== null).map((v) => at(v.x, v.y).join(",")).join(" ");
    plan.append(svg("polyline", { id: "track-path", points, "data-cameras": track.visits.map((v) => v.camera_id).join(",") }));
  }
  for (const camera of state.cameras) {
    const [x, y] = at(camera.x, camera.y);
    const group = svg("g", { class: "cam", "data-camera": camera.camera_id });
    group.append(svg("circle", { cx: x, cy: y, r: 7 }), svg("text", { x: x + 10, y: y - 10 }, camera.name));
    plan.append(group);
  }
  if (track) {
    track.visits.forEach((visit, i) => {
      if (visit.x === null) return;
      const [x, y] = at(visit.x, visit.y);
      const stop = svg("g", { class: "stop" });
      stop.append(svg("circle", { cx: x, cy: y, r: 4 }), svg("text", { x: x + 10, y: y + 16 }, `${i + 1}. ${time(visit.entered_at)}`));
      plan.append(stop);
    });
  }
}

function showTrack(track) {
  $("track-title").textContent = `${track.person}, ${dateTime(track.started_at)}${track.plausible ? "" : " (implausible travel: check for a false match)"}`;
  drawPlan(track);
  $("timeline").replaceChildren(...track.visits.map((v) => {
    const speed = v.speed_mps === null ? "" : `, arrived at ${v.speed_mps.toFixed(1)} m/s`;
    return el("li", { class: v.plausible_arrival ? "" : "implausible" },
      `${time(v.entered_at)}–${time(v.exited_at)}  ${v.camera_name}  (score ${v.best_score.toFixed(2)}${speed})`);
  }));
}

async function openTrackOf(entryId, trackId) {
  if ($("app").hidden) await openView("app"); // from the review queue: the track is drawn on the live plan
  try {
    if (trackId) { showTrack(await json(`/tracks/${trackId}`)); return; }
    const page = await json(`/tracks?person=${encodeURIComponent(entryId)}&limit=500`);
    if (page.items.length) showTrack(page.items[page.items.length - 1]);
    else $("timeline").replaceChildren(el("li", { class: "muted" }, "No track in the last 24 hours."));
  } catch (e) { $("timeline").replaceChildren(el("li", { class: "error" }, e.message)); }
}

async function loadTracks() {
  const page = await json("/tracks?limit=100");
  const list = $("track-list");
  if (!page.items.length) { list.replaceChildren(el("li", { class: "muted" }, "No tracks.")); return; }
  list.replaceChildren(...page.items.slice().reverse().map((t) => trackItem(t, time, showTrack)));
}

// A list item naming a track ("person · start · cameras") that opens it.
function trackItem(t, when, open) {
  const item = el("li");
  const button = el("button", { type: "button", "data-track": t.track_id },
    `${t.person} · ${when(t.started_at)} · ${t.visits.length} camera${t.visits.length === 1 ? "" : "s"}`);
  button.addEventListener("click", () => open(t));
  item.append(button);
  return item;
}

async function alertCard(alert, fresh) {
  const s = alert.sighting;
  const card = el("li", { class: fresh ? "alert new" : "alert", "data-event": s.event_id });
  const meta = el("div", { class: "meta" });
  meta.append(el("strong", {}, s.person), el("div", {}, s.camera_name), el("div", {}, dateTime(s.first_seen)),
    el("div", {}, `score ${s.score.toFixed(2)}`));
  const actions = el("div", { class: "actions" });
  const status = el("span", { class: "status" }, statusText(s.status, s.confirmations, s.required));
  for (const [decision, label] of [["confirm", "Confirm"], ["reject", "Reject"]]) {
    const button = el("button", { type: "button", class: decision }, label);
    button.addEventListener("click", () => decide(s.event_id, decision, card, status));
    actions.append(button);
  }
  const trackButton = el("button", { type: "button", class: "track" }, "Track");
  trackButton.addEventListener("click", () => openTrackOf(s.entry_id, alert.track_id));
  actions.append(trackButton, status);
  card.append(await image(s.evidence_url, "evidence crop"), await image(s.photo_url, "enrolled photo"), meta, actions);
  return card;
}

// A candidate that someone confirmed already says so: the next reviewer sees how many have.
function statusText(status, confirmations, required) {
  return status === "candidate" && confirmations > 0 ? `candidate, ${confirmations}/${required} confirmations` : status;
}

async function decide(eventId, decision, card, status) {
  try {
    const outcome = await json(`/sightings/${eventId}/decision`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ decision, note: "" }),
    });
    status.textContent = statusText(outcome.status, outcome.confirmations, outcome.required);
    card.classList.remove("new");
    if (outcome.status !== "candidate") card.querySelectorAll("button.confirm, button.reject").forEach((b) => { b.disabled = true; });
  } catch (e) { status.textContent = e.message; }
}

async function loadAlerts() {
  const page = await json("/alerts?limit=50");
  const cards = [];
  for (const s of page.items) cards.push(await alertCard({ sighting: s, track_id: null }, false));
  $("alert-list").replaceChildren(...cards);
}

// Server-sent events over fetch, so the bearer token travels in a header rather than the URL.
async function streamAlerts() {
  const controller = new AbortController();
  state.stream = controller;
  const badge = $("live-state");
  try {
    const response = await api("/alerts/stream", { signal: controller.signal });
    badge.textContent = "live"; badge.className = "badge live";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (block.includes("event: alert") && data) await onAlert(JSON.parse(data));
      }
    }
  } catch (e) { if (controller.signal.aborted) return; }
  badge.textContent = "reconnecting"; badge.className = "badge down";
  if (state.token) setTimeout(streamAlerts, 2000);
}

async function onAlert(alert) {
  const list = $("alert-list");
  const old = list.querySelector(`[data-event="${alert.sighting.event_id}"]`);
  const card = await alertCard(alert, true);
  if (old) old.replaceWith(card); else list.prepend(card);
  loadTracks().catch(() => {});
}

if (state.token) start().catch(() => signOut()); else signOut();

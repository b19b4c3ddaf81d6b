// facetrail dashboard: plain JS, no framework, no network beyond this server.
"use strict";
const API = "/api/v1";
const state = { token: sessionStorage.getItem("facetrail-token"), cameras: [], stream: null, poll: null };
// An unreachable camera shows in the console within 15 s of its first report: the health stage's write, then one poll.
const CAMERA_POLL_MS = 5000;
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
// One date format everywhere: local time, year first (2026-12-05 14:03:27), whatever the browser's locale.
const pad = (n) => String(n).padStart(2, "0");
const day = (iso) => { const d = new Date(iso); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; };
const time = (iso) => { const d = new Date(iso); return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`; };
const dateTime = (iso) => `${day(iso)} ${time(iso)}`;

async function api(path, options = {}) {
  if (!state.token) throw new Error("You are signed out."); // never send "Bearer null"
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  let response;
  try {
    response = await fetch(API + path, Object.assign({}, options, { headers }));
  } catch (e) {
    if (options.signal && options.signal.aborted) throw e;
    throw new Error("The facetrail server cannot be reached. Check the network; the page retries by itself.");
  }
  if (response.status === 401) {
    signOut("Your session ended (it expired or was closed); sign in again. Unsaved enrolment work comes back if you sign in as the same user.", true);
    throw new Error("Your session ended.");
  }
  if (!response.ok) throw new Error(problemText(response.status, await response.json().catch(() => ({}))));
  return response;
}

// A refusal in words a person understands: field names become labels, codes become what to do.
const FIELD_WORDS = { since: "From", until: "To", limit: "the number of results", person: "Person", camera: "Camera",
  expires_in_days: "Expires in (days)", reason: "Reason", password: "Password", username: "User name",
  display_name: "Name", legal_basis: "Legal basis", image_source: "Image source", watchlist: "Watch-list" };
function problemText(status, body) {
  if (status === 413) return "That file is too large for the server; use a smaller photo or image.";
  if (status === 415) return "That kind of file is not accepted; use a JPEG, PNG or WebP image.";
  if (status === 403) return "Your role may not do this; ask an administrator if you need it.";
  if (status === 429) return "Too many attempts; wait a few minutes and try again.";
  if (status >= 500) return "The server ran into a problem and did not finish; try again, and tell an administrator if it repeats.";
  if (Array.isArray(body.detail)) {
    return body.detail.map((e) => {
      const field = FIELD_WORDS[e.loc[e.loc.length - 1]] || e.loc[e.loc.length - 1];
      const why = (e.msg || "").replace(/^Value error, /, "").replace("until is before since", "it must be after From");
      return `${field}: ${why}`;
    }).join("; ");
  }
  const text = body.detail || body.message || "";
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : `The request was refused (${status}).`;
}
const json = async (path, options) => (await api(path, options)).json();

// Images need the bearer token, so they are fetched and shown as blob URLs.
async function image(url, alt, missing = "no image") {
  if (!url) return el("div", { class: "noimg" }, missing);
  try {
    const blob = await (await api(url.replace(API, ""))).blob();
    return el("img", { src: URL.createObjectURL(blob), alt });
  } catch (e) { return el("div", { class: "noimg" }, "unavailable"); }
}

function signOut(message, keepWork) {
  // An expired session keeps a half-filled enrolment (in this page's memory only) for the same user's next sign-in.
  state.resume = keepWork && state.username && typeof stashEnrolment === "function"
    ? { username: state.username, work: stashEnrolment() } : null;
  state.token = null;
  sessionStorage.removeItem("facetrail-token");
  clearInterval(state.poll); state.poll = null;
  if (state.stream) state.stream.abort();
  document.querySelectorAll(".view").forEach((view) => { view.hidden = true; });
  $("alert-list").replaceChildren(); $("track-list").replaceChildren();
  if (typeof clearConsoles === "function") clearConsoles(); // nothing of one user's session stays in the page
  $("tabs").hidden = true; $("who").hidden = true; $("matching").hidden = true; $("login-view").hidden = false;
  $("login-error").textContent = message || "";
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  let response;
  try {
    response = await fetch(`${API}/login`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
  } catch (e) {
    $("login-error").textContent = "The facetrail server cannot be reached. Check the network and try again.";
    return;
  }
  $("password").value = "";
  if (response.status === 429) {
    const minutes = Math.max(1, Math.ceil(Number(response.headers.get("Retry-After")) / 60));
    $("login-error").textContent = `Too many wrong passwords: signing in is locked for ${minutes} minute${minutes === 1 ? "" : "s"}.`
      + " An administrator can see the lockout.";
    return;
  }
  if (!response.ok) {
    state.failures = (state.failures || 0) + 1;
    // The server never says which of the two was wrong, nor whether the account exists or is disabled.
    $("login-error").textContent = "Wrong user name or password, or the account is disabled (an administrator can tell you which)."
      + (state.failures >= 3 ? " Careful: 5 wrong passwords within 15 minutes lock the account for 15 minutes." : "");
    return;
  }
  state.failures = 0;
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
  state.role = me.role; state.username = me.username;
  $("user").textContent = `${me.username} (${me.role})`;
  $("login-view").hidden = true; $("who").hidden = false;
  if (me.role === "operator" || me.role === "admin") showMatching(await json("/matching"));
  const views = showTabs(me.role);
  if (views.includes("app")) await startLive();
  await openView(views[0]);
  const resume = state.resume;
  state.resume = null;
  if (resume && resume.username === me.username && resume.work && views.includes("people-view")) {
    await openView("people-view");
    restoreEnrolment(resume.work);
  }
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
    ? `; calibrated ${day(point.calibrated_at)} for a false-alert rate of ${rate(point.target_fpir)} per search`
      + (point.per_pass_fpir === null ? "" : ` (${rate(point.per_pass_fpir)} per pass)`)
    : "";
  state.threshold = m.threshold; state.keepRejected = m.keep_rejected_examples;
  $("matching").textContent = `A face counts as a match when its distance to an enrolled photo is below ${m.threshold.toFixed(2)}`
    + (point ? calibrated : "") + ".";
  $("matching").title = `model ${m.model}, ratio test ${m.max_distance_ratio.toFixed(2)}, ${m.source}`;
  $("matching").hidden = false;
}

async function loadCameras() {
  const data = await json("/cameras");
  state.cameras = data.items;
  $("site").textContent = data.site;
  drawPlan();
  if (!$("admin-view").hidden && typeof loadCameraTable === "function") loadCameraTable(data); // health, live on the admin's table too
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

function drawPlan(track, plan = $("plan")) {
  plan.replaceChildren();
  if (state.planUrl) plan.append(svg("image", { id: plan.id === "plan" ? "plan-image" : `${plan.id}-image`, href: state.planUrl, x: 0, y: 0, width: 640, height: 360, preserveAspectRatio: "xMidYMid meet" }));
  if (!state.cameras.length) { plan.append(svg("text", { x: 20, y: 30 }, "No cameras configured")); return; }
  const at = planScale();
  if (track) {
    const points = track.visits.filter((v) => v.x !== null).map((v) => at(v.x, v.y).join(",")).join(" ");
    plan.append(svg("polyline", { id: plan.id === "plan" ? "track-path" : `${plan.id}-path`, class: "track-path", points, "data-cameras": track.visits.map((v) => v.camera_id).join(",") }));
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

// ---- alert cards: the evidence beside the enrolled photo, the match in words, who decided ---------------------
async function alertCard(alert, fresh) {
  const s = alert.sighting;
  const card = el("li", { class: fresh ? "alert new" : "alert", "data-event": s.event_id });
  const faces = el("div", { class: "faces" });
  const seen = await figure(s.evidence_url, "Seen", `face seen at ${s.camera_name}, ${dateTime(s.first_seen)}`, "No crop stored");
  const enrolled = await figure(s.photo_url, "Enrolled", `enrolled photo of ${s.person}`, "No photo");
  faces.append(seen, enrolled);
  const enlarge = el("button", { type: "button", class: "enlarge" }, "Enlarge");
  enlarge.setAttribute("aria-label", `Enlarge the photos of ${s.person} at ${s.camera_name}`);
  enlarge.addEventListener("click", () => showLarge(s, card, enlarge));
  faces.querySelectorAll("img").forEach((img) => img.addEventListener("click", () => showLarge(s, card, enlarge)));
  const meta = el("div", { class: "meta" });
  meta.append(el("strong", {}, s.person), el("div", {}, `${s.camera_name} · ${dateTime(s.first_seen)}`),
    el("div", { class: "match" }, matchWords(s.score)));
  const decided = el("p", { class: "decided" });
  const actions = el("div", { class: "actions" });
  for (const decision of ["confirm", "reject"]) {
    const button = el("button", { type: "button", class: decision });
    button.addEventListener("click", () => decide(s.event_id, decision, card));
    actions.append(button);
  }
  const trackButton = el("button", { type: "button", class: "track" }, "Track");
  trackButton.setAttribute("aria-label", `Track of ${s.person}`);
  trackButton.addEventListener("click", () => openTrackOf(s.entry_id, alert.track_id));
  actions.append(trackButton, el("span", { class: "status", role: "status" }));
  card.append(faces, enlarge, meta, decided, actions);
  showDecisions(card, s);
  return card;
}

async function figure(url, caption, alt, missing) {
  const node = el("figure");
  node.append(await image(url, alt, missing), el("figcaption", {}, caption));
  return node;
}

// The match in words: the distance (1 - score) against the largest distance accepted.
function matchWords(score) {
  const distance = 1 - score;
  const limit = state.threshold;
  if (limit === undefined) return `distance ${distance.toFixed(2)} (0 = the same face)`;
  const margin = limit - distance;
  const how = margin >= 0.15 ? "a close match" : margin >= 0.05 ? "a match" : "a borderline match: look carefully";
  return `distance ${distance.toFixed(2)}, accepted below ${limit.toFixed(2)}: ${how}`;
}

function showLarge(s, card, opener) {
  const dialog = $("large");
  const pictures = [...card.querySelectorAll(".faces figure")].map((f) => f.cloneNode(true));
  $("large-title").textContent = `${s.person} at ${s.camera_name}, ${dateTime(s.first_seen)}`;
  $("large-match").textContent = matchWords(s.score);
  $("large-faces").replaceChildren(...pictures);
  dialog.returnFocus = opener;
  dialog.showModal();
}

function statusText(s) {
  if (s.status === "candidate") {
    return s.confirmations > 0 ? `candidate, ${s.confirmations}/${s.required} confirmations` : "candidate";
  }
  return s.status;
}

// Who decided, the buttons only where a decision is still open, and what a reject does, said on the button.
function showDecisions(card, s) {
  card.sighting = s;
  const words = { confirm: "confirmed", reject: "rejected" };
  const who = s.decisions.map((d) => `${words[d.decision] || d.decision} by ${d.reviewer} at ${time(d.decided_at)}`);
  const example = { kept: " A \"not this person\" example was kept: later sightings this close to it are not alerted.",
    withdrawn: " Its \"not this person\" example was withdrawn by a second reviewer." }[s.rejected_example] || "";
  card.querySelector(".decided").textContent = who.length ? `${who.join("; ")}.${example}` : "";
  const open = s.status === "candidate";
  const mine = s.decisions.some((d) => d.reviewer === state.username && d.decision === "confirm");
  const confirm = card.querySelector("button.confirm"), reject = card.querySelector("button.reject");
  const left = s.required - s.confirmations;
  confirm.textContent = !open || s.required === 1 ? "Confirm"
    : left > 1 ? `Confirm (first of ${s.required} reviewers)` : `Confirm (second of ${s.required}: decides)`;
  reject.textContent = state.keepRejected === false ? "Reject (final)" : "Reject (final; keeps a \"not this person\" example)";
  reject.title = "One reject decides: the sighting leaves the track and its crop is deleted. The example it keeps suppresses "
    + "later matches this close to it; a second reviewer can withdraw it.";
  confirm.disabled = !open || mine; reject.disabled = !open;
  if (mine && open) {
    confirm.title = "You confirmed it; a different reviewer must confirm it too.";
    card.querySelector(".decided").textContent += " A different reviewer must confirm it too.";
  }
  card.querySelector(".status").textContent = statusText(s);
  card.classList.toggle("settled", !open);
  let withdraw = card.querySelector("button.withdraw");
  const rejecter = s.decisions.find((d) => d.decision === "reject");
  if (s.rejected_example === "kept" && rejecter && rejecter.reviewer !== state.username) {
    if (!withdraw) {
      withdraw = el("button", { type: "button", class: "withdraw" }, "Withdraw the \"not this person\" example");
      withdraw.addEventListener("click", () => withdrawForm(card, withdraw));
      card.querySelector(".actions").prepend(withdraw);
    }
  } else if (withdraw) withdraw.remove();
}

function withdrawForm(card, button) {
  const form = el("form", { class: "inline-form" });
  const reason = el("input", { required: "", maxlength: "2000", "aria-label": "why the example is withdrawn", placeholder: "why" });
  const cancel = el("button", { type: "button" }, "Cancel");
  form.append(reason, el("button", { type: "submit" }, "Withdraw"), cancel);
  cancel.addEventListener("click", () => { form.replaceWith(button); button.focus(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const outcome = await json(`/sightings/${card.dataset.event}/example/withdrawal`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason: reason.value }) });
      form.remove();
      updateCards({ ...card.sighting, ...outcome });
    } catch (e) { card.querySelector(".status").textContent = e.message; }
  });
  button.replaceWith(form);
  reason.focus();
}

async function decide(eventId, decision, card) {
  try {
    const outcome = await json(`/sightings/${eventId}/decision`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ decision, note: "" }),
    });
    card.classList.remove("new");
    updateCards({ ...card.sighting, ...outcome });
  } catch (e) {
    card.querySelector(".status").textContent = e.message;
    // a stale card (someone else decided first): show the sighting as it is now
    json(`/sightings/${eventId}`).then((now) => updateCards(now, e.message)).catch(() => {});
  }
}

// Every card of a sighting on the page (live feed, review queue) shows it as it is now.
function updateCards(s, message) {
  document.querySelectorAll(`li.alert[data-event="${s.event_id}"]`).forEach((card) => {
    showDecisions(card, s);
    if (message) card.querySelector(".status").textContent = message;
  });
  if (typeof reviewUpdated === "function") reviewUpdated(s);
}

async function loadAlerts() {
  const page = await json("/alerts?limit=50");
  const cards = [];
  for (const s of page.items) cards.push(await alertCard({ sighting: s, track_id: null }, false));
  $("alert-list").replaceChildren(...cards);
  feedEmptyState();
}

function feedEmptyState() {
  $("alert-empty").hidden = $("alert-list").children.length > 0;
}

// Server-sent events over fetch, so the bearer token travels in a header rather than the URL.
async function streamAlerts() {
  const controller = new AbortController();
  state.stream = controller;
  const badge = $("live-state");
  try {
    const response = await api("/alerts/stream", { signal: controller.signal });
    badge.textContent = "live"; badge.className = "badge live";
    if (state.reconnected) loadAlerts().catch(() => {}); // what was decided or raised while the stream was down
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
        if (!data) continue;
        if (block.includes("event: alert")) await onAlert(JSON.parse(data));
        else if (block.includes("event: decision")) onDecision(JSON.parse(data));
      }
    }
  } catch (e) { if (controller.signal.aborted) return; }
  badge.textContent = "reconnecting"; badge.className = "badge down";
  state.reconnected = true;
  if (state.token) setTimeout(streamAlerts, 2000);
}

async function onAlert(alert) {
  const list = $("alert-list");
  const old = list.querySelector(`[data-event="${alert.sighting.event_id}"]`);
  const card = await alertCard(alert, true);
  if (old) old.replaceWith(card); else { list.prepend(card); announce(alert.sighting); }
  feedEmptyState();
  loadTracks().catch(() => {});
}

function onDecision(message) {
  updateCards(message.sighting);
}

// ---- telling a busy operator: optional sound and desktop notification (off by default, kept per browser) ------
const prefs = { get: (k) => localStorage.getItem(`facetrail-${k}`) === "on", set: (k, on) => localStorage.setItem(`facetrail-${k}`, on ? "on" : "off") };

function announce(s) {
  if (prefs.get("sound")) beep();
  if (prefs.get("notify") && "Notification" in window && Notification.permission === "granted") {
    new Notification(`facetrail: ${s.person}`, { body: `${s.camera_name} at ${time(s.first_seen)}, waiting for review`, tag: s.event_id });
  }
}

function beep() {
  try {
    const audio = state.audio || (state.audio = new AudioContext());
    const tone = audio.createOscillator(), gain = audio.createGain();
    tone.frequency.value = 880; gain.gain.value = 0.15;
    tone.connect(gain).connect(audio.destination);
    tone.start(); tone.stop(audio.currentTime + 0.25);
  } catch (e) { /* no audio output: the visual cue stays */ }
}

$("alert-sound").checked = prefs.get("sound");
$("alert-notify").checked = prefs.get("notify");
$("alert-sound").addEventListener("change", (event) => { prefs.set("sound", event.target.checked); if (event.target.checked) beep(); });
$("alert-notify").addEventListener("change", async (event) => {
  let on = event.target.checked;
  if (on && "Notification" in window && Notification.permission !== "granted") on = (await Notification.requestPermission()) === "granted";
  if (on && !("Notification" in window)) on = false;
  event.target.checked = on;
  prefs.set("notify", on);
  $("alert-prefs-note").textContent = event.target.checked || !event.target.dataset.tried ? "" : "This browser did not allow notifications.";
  event.target.dataset.tried = "yes";
});
$("large-close").addEventListener("click", () => $("large").close());
$("large").addEventListener("close", () => { if ($("large").returnFocus) $("large").returnFocus.focus(); });

// Below tablet width a table shows one card per row: each cell is labelled with its column (style.css).
function labelCells(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
  table.querySelectorAll("tbody tr").forEach((row) => {
    [...row.children].forEach((cell, i) => { if (!cell.hasAttribute("colspan")) cell.dataset.label = heads[i] || ""; });
  });
}
document.querySelectorAll("table.cards").forEach((table) => {
  new MutationObserver(() => labelCells(table)).observe(table.querySelector("tbody"), { childList: true });
});

if (state.token) start().catch(() => signOut()); else signOut();

// The consoles of each role beside the live feed (app.js): watch-list, audit log, track search, review queue, admin.
// Same rules as app.js: plain JS, no network beyond this server, no inline script or style (the CSP forbids both).
"use strict";

const LOADERS = {};
const daysUntil = (iso) => Math.ceil((new Date(iso) - Date.now()) / 86400000);
const setStatus = (id, text, error) => { $(id).textContent = text; $(id).classList.toggle("error", Boolean(error)); };
const jsonBody = (method, body) => ({ method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function emptyRow(columns, text) {
  const row = el("tr");
  row.append(el("td", { colspan: String(columns), class: "muted" }, text));
  return row;
}

// What a console showed goes with its user: on sign-out every table, photo and message is emptied.
function clearConsoles() {
  enrolment.uploads = [];
  for (const id of ["enrol-uploads", "search-results", "search-evidence", "review-list", "plan-preview"]) $(id).replaceChildren();
  document.querySelectorAll("main.console tbody").forEach((body) => body.replaceChildren());
  document.querySelectorAll("main.console .status-line").forEach((line) => { line.textContent = ""; });
  document.querySelectorAll("main.console form").forEach((form) => form.reset());
  for (const id of ["search-person", "search-camera"]) while ($(id).options.length > 1) $(id).remove(1);
}

// ---- tabs ------------------------------------------------------------------------------------------------------
function showTabs(role) {
  const views = [];
  for (const tab of $("tabs").querySelectorAll("button")) {
    const allowed = role === "admin" || tab.dataset.roles === role;
    tab.hidden = !allowed;
    if (allowed) views.push(tab.dataset.view);
    tab.onclick = () => openView(tab.dataset.view);
  }
  $("tabs").hidden = views.length < 2;
  return views;
}

async function openView(view) {
  document.querySelectorAll(".view").forEach((node) => { node.hidden = node.id !== view; });
  for (const tab of $("tabs").querySelectorAll("button")) tab.setAttribute("aria-pressed", String(tab.dataset.view === view));
  if (LOADERS[view]) await LOADERS[view]().catch((e) => console.warn(view, e.message));
}

// ---- enroller: the watch-list ----------------------------------------------------------------------------------
const enrolment = { uploads: [] }; // {upload_id, file, faces, picked, node}

LOADERS["people-view"] = loadPeople;

async function loadPeople() {
  const page = await json("/people?limit=500");
  const rows = page.items.map(personRow);
  $("people-table").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(7, "No entries.")]));
}

function personRow(p) {
  const row = el("tr", { "data-entry": p.entry_id });
  const days = daysUntil(p.expires_at);
  const actions = el("td", { class: "row-actions" });
  const extend = el("button", { type: "button", class: "extend" }, "Extend");
  const erase = el("button", { type: "button", class: "erase" }, "Erase");
  extend.addEventListener("click", () => extendForm(p, actions));
  erase.addEventListener("click", () => eraseEntry(p, erase));
  actions.append(extend, erase);
  row.append(el("td", {}, p.display_name), el("td", {}, p.watchlist), el("td", {}, p.legal_basis),
    el("td", {}, p.enrolled_by), photosCell(p),
    el("td", { class: "expiry" }, `in ${days} day${days === 1 ? "" : "s"} (${p.expires_at.slice(0, 10)})`), actions);
  return row;
}

// Photos are fetched when asked for (each view is audited), not with every listing.
function photosCell(person) {
  const cell = el("td", { class: "photos" });
  if (!person.photos) { cell.textContent = "0"; return cell; }
  const show = el("button", { type: "button", class: "show-photos" }, `Show ${person.photos}`);
  show.setAttribute("aria-label", `show the ${person.photos} enrolled photo(s) of ${person.display_name}`);
  show.addEventListener("click", async () => {
    const images = [];
    for (let i = 0; i < person.photos; i++) {
      images.push(await image(`${API}/people/${person.entry_id}/photos/${i}`, `enrolled photo ${i + 1} of ${person.display_name}`));
    }
    cell.replaceChildren(...images);
  });
  cell.append(show);
  return cell;
}

function extendForm(person, cell) {
  const form = el("form", { class: "inline-form" });
  const days = el("input", { type: "number", min: "1", value: "30", required: "", "aria-label": `new expiry of ${person.display_name}, days from now` });
  const reason = el("input", { required: "", maxlength: "2000", "aria-label": "reason for the change", placeholder: "reason" });
  form.append(days, reason, el("button", { type: "submit" }, "Set expiry"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await json(`/people/${person.entry_id}/expiry`, jsonBody("POST", { expires_in_days: Number(days.value), reason: reason.value }));
      await loadPeople();
      setStatus("people-status", `Expiry of ${person.display_name} changed.`);
    } catch (e) { setStatus("people-status", e.message, true); }
  });
  cell.replaceChildren(form);
  days.focus();
}

async function eraseEntry(person, button) {
  if (button.dataset.armed !== "yes") { // a second press erases: nothing is erased by one slip
    button.dataset.armed = "yes"; button.textContent = `Really erase ${person.display_name}?`;
    return;
  }
  try {
    await json(`/people/${person.entry_id}`, { method: "DELETE" });
    await loadPeople();
    setStatus("people-status", `${person.display_name} erased with everything derived from the entry.`);
  } catch (e) { setStatus("people-status", e.message, true); }
}

$("enrol-photos").addEventListener("change", async (event) => {
  for (const file of event.target.files) await uploadPhoto(file);
  event.target.value = "";
});

async function uploadPhoto(file) {
  setStatus("enrol-status", `Looking for faces in ${file.name}…`);
  try {
    const uploaded = await json("/enrolment/photos", { method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
    const mains = uploaded.faces.filter((f) => f.main && !f.problems.length);
    const entry = { ...uploaded, file, picked: mains.length ? mains[0].index : null };
    if (entry.picked === null) {
      const usable = uploaded.faces.filter((f) => !f.problems.length);
      if (usable.length === 1 && uploaded.faces.length === 1) entry.picked = usable[0].index;
    }
    enrolment.uploads.push(entry);
    $("enrol-uploads").append(uploadCard(entry, enrolment.uploads.length));
    const count = uploaded.faces.length;
    setStatus("enrol-status", count ? `${file.name}: ${count} face${count === 1 ? "" : "s"} found${count > 1 ? "; pick the person's face" : ""}.`
      : `${file.name}: no face found.`, !count);
  } catch (e) { setStatus("enrol-status", `${file.name}: ${e.message}`, true); }
}

function uploadCard(entry, number) {
  const card = el("li", { class: "upload", "data-upload": entry.upload_id });
  const frame = el("div", { class: "photo-frame" });
  frame.append(el("img", { src: URL.createObjectURL(entry.file), alt: `photo ${number}` }));
  const notes = el("ul", { class: "face-notes" });
  for (const face of entry.faces) {
    const label = face.problems.length ? `Face ${face.index + 1}: ${face.problems.join("; ")}` : `Face ${face.index + 1}`;
    const button = el("button", { type: "button", class: "face", "data-face": String(face.index), "aria-label": `${label}, photo ${number}`,
      "aria-pressed": String(entry.picked === face.index) });
    placeBox(button, face.box, entry);
    button.append(el("span", {}, String(face.index + 1)));
    if (face.problems.length) button.classList.add("poor");
    button.addEventListener("click", () => pickFace(entry, face.index, card));
    frame.append(button);
    notes.append(el("li", { class: face.problems.length ? "poor" : "" }, face.problems.length ? label : `${label}: can be enrolled`));
  }
  const remove = el("button", { type: "button", class: "remove" }, "Remove photo");
  remove.addEventListener("click", () => removeUpload(entry, card));
  card.append(frame, notes, remove);
  return card;
}

// Boxes are placed in percent of the photo, so they stay on the faces at any displayed size (CSSOM, not inline style).
function placeBox(node, box, entry) {
  node.style.left = `${(100 * box.x) / entry.width}%`; node.style.top = `${(100 * box.y) / entry.height}%`;
  node.style.width = `${(100 * box.w) / entry.width}%`; node.style.height = `${(100 * box.h) / entry.height}%`;
}

function pickFace(entry, index, card) {
  entry.picked = index;
  card.querySelectorAll("button.face").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.face) === index)));
  setStatus("enrol-status", `Face ${index + 1} picked.`);
}

async function removeUpload(entry, card) {
  enrolment.uploads = enrolment.uploads.filter((u) => u !== entry);
  card.remove();
  await api(`/enrolment/photos/${entry.upload_id}`, { method: "DELETE" }).catch(() => {});
}

$("enrol-save").addEventListener("click", async () => {
  const form = $("enrol-form");
  if (!form.reportValidity()) return;
  if (!enrolment.uploads.length) { setStatus("enrol-status", "Add at least one photo.", true); return; }
  const unpicked = enrolment.uploads.findIndex((u) => u.picked === null);
  if (unpicked >= 0) { setStatus("enrol-status", `Pick the person's face in photo ${unpicked + 1}, or remove the photo.`, true); return; }
  try {
    const person = await json("/people", jsonBody("POST", {
      display_name: $("enrol-name").value, watchlist: $("enrol-list").value, legal_basis: $("enrol-basis").value,
      image_source: $("enrol-source").value, expires_in_days: Number($("enrol-days").value),
      photos: enrolment.uploads.map((u) => ({ upload_id: u.upload_id, face: u.picked })),
    }));
    enrolment.uploads = [];
    $("enrol-uploads").replaceChildren();
    form.reset();
    setStatus("enrol-status", `${person.display_name} enrolled (${person.photos} photo${person.photos === 1 ? "" : "s"}).`);
    await loadPeople();
  } catch (e) { setStatus("enrol-status", e.message, true); }
});

// ---- auditor: the audit log ------------------------------------------------------------------------------------
const audit = { offset: 0, limit: 50, total: 0 };
const isoOf = (local) => (local ? new Date(local).toISOString() : null);

LOADERS["audit-view"] = async () => { await Promise.all([loadAudit(), loadAuditEntries()]); };

function auditQuery(extra = {}) {
  const query = new URLSearchParams();
  const fields = { actor: $("audit-actor").value.trim(), action: $("audit-action").value.trim(),
    subject: $("audit-subject").value.trim(), since: isoOf($("audit-since").value), until: isoOf($("audit-until").value) };
  for (const [name, value] of Object.entries({ ...fields, ...extra })) if (value !== null && value !== "") query.set(name, value);
  return query;
}

async function loadAudit() {
  try {
    const page = await json(`/audit?${auditQuery({ limit: audit.limit, offset: audit.offset })}`);
    audit.total = page.total;
    const rows = page.items.map((r) => {
      const row = el("tr", { "data-seq": String(r.seq) });
      row.append(el("td", {}, String(r.seq)), el("td", {}, dateTime(r.at)), el("td", {}, r.actor), el("td", {}, r.action),
        el("td", {}, r.subject), el("td", { class: "details" }, JSON.stringify(r.details)));
      return row;
    });
    $("audit-table").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(6, "No record matches.")]));
    const last = Math.min(audit.offset + audit.limit, page.total);
    $("audit-range").textContent = page.total ? `records ${audit.offset + 1}–${last} of ${page.total}, newest first` : "0 records";
    $("audit-prev").disabled = audit.offset === 0;
    $("audit-next").disabled = last >= page.total;
  } catch (e) { setStatus("audit-verdict", e.message, true); }
}

async function loadAuditEntries() {
  const page = await json("/audit/entries?limit=500");
  const rows = page.items.map((p) => {
    const row = el("tr", { "data-entry": p.entry_id });
    const days = daysUntil(p.expires_at);
    row.append(el("td", {}, p.display_name), el("td", {}, p.watchlist), el("td", {}, p.legal_basis), el("td", {}, p.image_source),
      el("td", {}, p.enrolled_by), el("td", {}, p.created_at.slice(0, 10)), el("td", {}, `${p.expires_at.slice(0, 10)} (in ${days} days)`));
    return row;
  });
  $("audit-entries").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(7, "No entries.")]));
}

$("audit-form").addEventListener("submit", (event) => { event.preventDefault(); audit.offset = 0; loadAudit(); });
$("audit-prev").addEventListener("click", () => { audit.offset = Math.max(0, audit.offset - audit.limit); loadAudit(); });
$("audit-next").addEventListener("click", () => { audit.offset += audit.limit; loadAudit(); });

$("audit-verify").addEventListener("click", async () => {
  try {
    const check = await json("/audit/verify");
    const text = check.intact ? `Chain intact: ${check.records} records.`
      : `Chain broken at record ${check.first_bad_seq}: ${check.reason}`;
    setStatus("audit-verdict", text, !check.intact);
    $("audit-verdict").className = `status-line ${check.intact ? "verdict-ok" : "verdict-bad error"}`;
  } catch (e) { setStatus("audit-verdict", e.message, true); }
});

$("audit-export").addEventListener("click", async () => {
  try {
    const format = $("audit-format").value;
    const query = new URLSearchParams({ format });
    const since = isoOf($("audit-since").value);
    if (since) query.set("since", since);
    const response = await api(`/audit/export?${query}`);
    const name = (response.headers.get("Content-Disposition") || "").split("filename=")[1] || `audit.${format}`;
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name.replaceAll('"', "") });
    document.body.append(link); link.click(); link.remove();
    setStatus("audit-verdict", `Export downloaded (${format}); the export is on the log too.`);
    loadAudit();
  } catch (e) { setStatus("audit-verdict", e.message, true); }
});

// ---- operator: track search and the review queue ---------------------------------------------------------------
LOADERS["search-view"] = async () => {
  if ($("search-person").options.length > 1) return;
  const [people, cameras] = await Promise.all([json("/people?limit=500"), json("/cameras")]);
  $("search-person").append(...people.items.map((p) => el("option", { value: p.entry_id }, p.display_name)));
  $("search-camera").append(...cameras.items.map((c) => el("option", { value: c.camera_id }, c.name)));
};

$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = new URLSearchParams({ limit: "500" });
  const fields = { person: $("search-person").value, camera: $("search-camera").value,
    since: isoOf($("search-since").value), until: isoOf($("search-until").value) };
  for (const [name, value] of Object.entries(fields)) if (value) query.set(name, value);
  try {
    const page = await json(`/tracks?${query}`);
    $("search-results").replaceChildren(...page.items.map((t) => trackItem(t, dateTime, showSearchedTrack)));
    setStatus("search-status", `${page.items.length} track${page.items.length === 1 ? "" : "s"} from ${dateTime(page.window.since)} to ${dateTime(page.window.until)}.`);
  } catch (e) { setStatus("search-status", e.message, true); }
});

function showSearchedTrack(track) {
  $("search-title").textContent = `${track.person}, ${dateTime(track.started_at)}`;
  $("search-evidence").replaceChildren();
  $("search-visits").querySelector("tbody").replaceChildren(...track.visits.map((v, i) => {
    const row = el("tr", { "data-camera": v.camera_id });
    const open = el("button", { type: "button", class: "evidence" }, "Open");
    open.setAttribute("aria-label", `evidence of visit ${i + 1} at ${v.camera_name}`);
    open.addEventListener("click", () => openVisitEvidence(track, v));
    const cell = el("td");
    cell.append(open);
    row.append(el("td", {}, String(i + 1)), el("td", {}, v.camera_name), el("td", {}, time(v.entered_at)),
      el("td", {}, time(v.exited_at)), el("td", {}, v.best_score.toFixed(2)), cell);
    return row;
  }));
}

// A visit's sightings are those of the person at that camera within the visit (a second's slack either side).
async function openVisitEvidence(track, visit) {
  const since = new Date(new Date(visit.entered_at).getTime() - 1000).toISOString();
  const until = new Date(new Date(visit.exited_at).getTime() + 1000).toISOString();
  const query = new URLSearchParams({ person: track.entry_id, camera: visit.camera_id, since, until });
  try {
    const page = await json(`/sightings?${query}`);
    const items = [];
    for (const s of page.items) {
      const item = el("li", { "data-event": s.event_id });
      item.append(await image(s.evidence_url, `evidence crop, ${s.camera_name}, ${time(s.first_seen)}`),
        el("div", {}, `${time(s.first_seen)} · score ${s.score.toFixed(2)} · ${statusText(s.status, s.confirmations, s.required)}`));
      items.push(item);
    }
    $("search-evidence").replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, "No sighting stored for this visit.")]));
  } catch (e) { $("search-evidence").replaceChildren(el("li", { class: "error" }, e.message)); }
}

LOADERS["review-view"] = loadReview;
$("review-form").addEventListener("submit", (event) => { event.preventDefault(); loadReview(); });

// First and second reviewer are both candidates; they differ by how many have confirmed so far.
async function loadReview() {
  const filter = $("review-filter").value;
  const status = filter === "first" || filter === "second" ? "candidate" : filter;
  const query = new URLSearchParams({ status, limit: "500" });
  const since = isoOf($("review-since").value);
  if (since) query.set("since", since);
  try {
    const page = await json(`/sightings?${query}`);
    const wanted = page.items.filter((s) => filter === "first" ? s.confirmations === 0 : filter === "second" ? s.confirmations > 0 : true)
      .reverse();
    const cards = [];
    for (const s of wanted) cards.push(await alertCard({ sighting: s, track_id: null }, false));
    $("review-list").replaceChildren(...cards);
    setStatus("review-status", `${wanted.length} sighting${wanted.length === 1 ? "" : "s"} ${$("review-filter").selectedOptions[0].textContent}.`);
  } catch (e) { setStatus("review-status", e.message, true); }
}

// ---- admin: users, cameras, the site plan ----------------------------------------------------------------------
LOADERS["admin-view"] = async () => { await Promise.all([loadUsers(), loadCameraTable(), showPlanPreview()]); };

async function loadUsers() {
  const list = await json("/users");
  $("users-table").querySelector("tbody").replaceChildren(...list.items.map(userRow));
}

function userRow(u) {
  const row = el("tr", { "data-user": u.username });
  const stateText = u.disabled ? "disabled" : u.locked_until ? `locked out until ${time(u.locked_until)}` : "active";
  const actions = el("td", { class: "row-actions" });
  const toggle = el("button", { type: "button", class: "toggle" }, u.disabled ? "Enable" : "Disable");
  toggle.addEventListener("click", () => setUserState(u, !u.disabled));
  const reset = el("button", { type: "button", class: "reset" }, "Reset password");
  reset.addEventListener("click", () => resetForm(u, actions));
  actions.append(toggle, reset);
  row.append(el("td", {}, u.username), el("td", {}, u.role), el("td", {}, u.created_at.slice(0, 10)),
    el("td", {}, u.last_login_at ? dateTime(u.last_login_at) : "never"), el("td", { class: "state" }, stateText), actions);
  return row;
}

async function setUserState(user, disabled) {
  try {
    await json(`/users/${user.username}/state`, jsonBody("POST", { disabled }));
    await loadUsers();
    setStatus("admin-status", `${user.username} ${disabled ? "disabled: their sessions ended" : "enabled"}.`);
  } catch (e) { setStatus("admin-status", e.message, true); }
}

function resetForm(user, cell) {
  const form = el("form", { class: "inline-form" });
  const password = el("input", { type: "password", required: "", minlength: "12", autocomplete: "new-password",
    "aria-label": `new password for ${user.username}` });
  form.append(password, el("button", { type: "submit" }, "Set password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/users/${user.username}/password`, jsonBody("POST", { password: password.value }));
      await loadUsers();
      setStatus("admin-status", `Password of ${user.username} reset; their sessions ended.`);
    } catch (e) { setStatus("admin-status", e.message, true); }
  });
  cell.replaceChildren(form);
  password.focus();
}

$("user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const user = await json("/users", jsonBody("POST", { username: $("user-name").value, role: $("user-role").value,
      password: $("user-password").value }));
    $("user-form").reset();
    await loadUsers();
    setStatus("admin-status", `${user.username} added as ${user.role}.`);
  } catch (e) { setStatus("admin-status", e.message, true); }
  $("user-password").value = "";
});

async function loadCameraTable() {
  const data = await json("/cameras");
  $("cameras-table").querySelector("tbody").replaceChildren(...data.items.map((c) => {
    const row = el("tr", { "data-camera": c.camera_id });
    row.append(el("td", {}, c.camera_id), el("td", {}, c.name), el("td", {}, String(c.x)), el("td", {}, String(c.y)),
      el("td", {}, c.health ? c.health.state : "no report"));
    return row;
  }));
}

async function showPlanPreview() {
  await loadSitePlan();
  $("plan-preview").replaceChildren(state.planUrl ? el("img", { src: state.planUrl, alt: "site plan" })
    : el("p", { class: "muted" }, "No site plan: the plan shows the cameras on an empty ground."));
}

$("plan-file").addEventListener("change", async (event) => {
  const [file] = event.target.files;
  if (!file) return;
  try {
    if (!$("plan-form").reportValidity()) { event.target.value = ""; return; }
    const extent = new URLSearchParams({ width_m: $("plan-width-m").value, height_m: $("plan-height-m").value });
    const plan = await json(`/site-plan?${extent}`, { method: "PUT", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
    await showPlanPreview();
    drawPlan();
    setStatus("admin-status", `Site plan uploaded (${plan.width}×${plan.height} px spanning ${plan.width_m}×${plan.height_m} m).`);
  } catch (e) { setStatus("admin-status", e.message, true); }
  event.target.value = "";
});

$("plan-remove").addEventListener("click", async () => {
  try {
    await api("/site-plan", { method: "DELETE" });
    await showPlanPreview();
    drawPlan();
    setStatus("admin-status", "Site plan removed.");
  } catch (e) { setStatus("admin-status", e.message, true); }
});

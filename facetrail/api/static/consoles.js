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
  leaveAddPhotos();
  for (const id of ["enrol-uploads", "search-results", "search-evidence", "review-list", "plan-preview", "search-plan"]) $(id).replaceChildren();
  $("lookup-table").hidden = true;
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
const ENROL_FIELDS = ["enrol-name", "enrol-list", "enrol-basis", "enrol-source", "enrol-days"];

// What an expired session would lose: the form's fields and the photos still held by the server (for 15 minutes,
// for the same user). Kept in this page's memory only, and dropped if someone else signs in.
function stashEnrolment() {
  const fields = Object.fromEntries(ENROL_FIELDS.map((id) => [id, $(id).value]));
  const touched = enrolment.uploads.length || $("enrol-name").value || $("enrol-basis").value || $("enrol-source").value;
  return touched ? { fields, uploads: enrolment.uploads.slice() } : null;
}

function restoreEnrolment(work) {
  for (const [id, value] of Object.entries(work.fields)) $(id).value = value;
  enrolment.uploads = work.uploads;
  $("enrol-uploads").replaceChildren(...work.uploads.map((u, i) => uploadCard(u, i + 1)));
  setStatus("enrol-status", "Your session had ended: the unsaved entry and its photos are back (photos are kept 15 minutes after upload).");
}

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
  const more = el("button", { type: "button", class: "add-photos" }, "Add photos");
  more.setAttribute("aria-label", `add photos to ${p.display_name}`);
  more.addEventListener("click", () => addPhotosTo(p));
  extend.addEventListener("click", () => extendForm(p, actions));
  erase.addEventListener("click", () => eraseEntry(p, erase));
  actions.append(extend, more, erase);
  row.append(el("td", {}, p.display_name), el("td", {}, p.watchlist), el("td", {}, p.legal_basis),
    el("td", {}, p.enrolled_by), photosCell(p),
    el("td", { class: "expiry" }, `in ${days} day${days === 1 ? "" : "s"} (${day(p.expires_at)})`), actions);
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

// The new expiry starts at what is left, never less (a pre-filled shorter one would shorten it), with labels and a way out.
function extendForm(person, cell) {
  const form = el("form", { class: "inline-form" });
  const left = Math.max(1, daysUntil(person.expires_at));
  const days = el("input", { type: "number", min: "1", value: String(left + 30), required: "", id: `extend-${person.entry_id}` });
  const reason = el("input", { required: "", maxlength: "2000", placeholder: "reason", id: `extend-why-${person.entry_id}` });
  const cancel = el("button", { type: "button", class: "cancel" }, "Cancel");
  const before = [...cell.childNodes];
  cancel.addEventListener("click", () => { cell.replaceChildren(...before); cell.querySelector("button.extend").focus(); });
  form.append(el("label", { for: days.id }, `Expires in (days from today; now ${left})`), days,
    el("label", { for: reason.id }, "Reason for the change"), reason, el("button", { type: "submit" }, "Set expiry"), cancel);
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

// Erasure asks why (as `facetrail watchlist erase --reason` does) and a second press: nothing is erased by one slip.
async function eraseEntry(person, button) {
  if (button.dataset.armed !== "yes") {
    button.dataset.armed = "yes"; button.textContent = `Really erase ${person.display_name}?`;
    const reason = el("input", { required: "", maxlength: "2000", placeholder: "reason", class: "erase-reason",
      "aria-label": `why ${person.display_name} is erased` });
    const cancel = el("button", { type: "button", class: "cancel" }, "Cancel");
    cancel.addEventListener("click", () => { reason.remove(); cancel.remove(); button.dataset.armed = ""; button.textContent = "Erase"; button.focus(); });
    button.before(reason); button.after(cancel);
    reason.focus();
    return;
  }
  const reason = button.parentNode.querySelector("input.erase-reason");
  if (!reason.value.trim()) { setStatus("people-status", `Say why ${person.display_name} is erased.`, true); reason.focus(); return; }
  try {
    await json(`/people/${person.entry_id}?${new URLSearchParams({ reason: reason.value.trim() })}`, { method: "DELETE" });
    await loadPeople();
    setStatus("people-status", `${person.display_name} erased with everything derived from the entry.`);
  } catch (e) { setStatus("people-status", e.message, true); }
}

// Photos for an entry that exists: the same upload and face picking, saved to that entry.
function addPhotosTo(person) {
  enrolment.target = person;
  $("enrol-form").classList.add("adding");
  $("enrol-heading").textContent = "Add photos";
  $("enrol-target").querySelector("span").textContent = `Adding photos to ${person.display_name}: upload them, pick the face, then save.`;
  $("enrol-target").hidden = false;
  $("enrol-save").textContent = `Save photos to ${person.display_name}`;
  $("enrol-photos").focus();
}

function leaveAddPhotos() {
  enrolment.target = null;
  $("enrol-form").classList.remove("adding");
  $("enrol-heading").textContent = "Enrol a person";
  $("enrol-target").hidden = true;
  $("enrol-save").textContent = "Save entry";
}
$("enrol-target-cancel").addEventListener("click", leaveAddPhotos);

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
  if (!enrolment.target && !form.reportValidity()) return;
  if (!enrolment.uploads.length) { setStatus("enrol-status", "Add at least one photo.", true); return; }
  const unpicked = enrolment.uploads.findIndex((u) => u.picked === null);
  if (unpicked >= 0) { setStatus("enrol-status", `Pick the person's face in photo ${unpicked + 1}, or remove the photo.`, true); return; }
  if (enrolment.target) { await saveAddedPhotos(enrolment.target); return; }
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

async function saveAddedPhotos(person) {
  try {
    const changed = await json(`/people/${person.entry_id}/photos`, jsonBody("POST", {
      photos: enrolment.uploads.map((u) => ({ upload_id: u.upload_id, face: u.picked })) }));
    const added = enrolment.uploads.length;
    enrolment.uploads = [];
    $("enrol-uploads").replaceChildren();
    leaveAddPhotos();
    setStatus("enrol-status", `${added} photo${added === 1 ? "" : "s"} added to ${person.display_name} (now ${changed.photos}).`);
    await loadPeople();
  } catch (e) { setStatus("enrol-status", e.message, true); }
}

// ---- auditor: the audit log ------------------------------------------------------------------------------------
const audit = { offset: 0, limit: 50, total: 0 };
const isoOf = (local) => (local ? new Date(local).toISOString() : null);

LOADERS["audit-view"] = async () => { await loadAuditEntries(); await loadAudit(); };
audit.names = {}; audit.erased = {}; // entry id -> name, for the entries that still exist; erased ones are looked up by id

// Reads that one page view makes together (a console loading its lists and photos) are shown as one row.
const READS = /(\.read|\.search|\.view|\.stream\.connect|person_lookup)$/;
const SAME_VIEW_MS = 3000;

function groupReads(records) {
  const rows = [];
  for (const r of records) {
    const last = rows[rows.length - 1];
    const read = READS.test(r.action);
    if (read && last && last.group && last.actor === r.actor
        && new Date(last.records[last.records.length - 1].at) - new Date(r.at) <= SAME_VIEW_MS) {
      last.records.push(r);
    } else rows.push(read ? { group: true, actor: r.actor, records: [r] } : { group: false, records: [r] });
  }
  return rows;
}

function subjectCell(subject) {
  const cell = el("td");
  const name = audit.names[subject];
  if (name) { cell.append(el("span", {}, name), el("span", { class: "muted id" }, ` ${subject}`)); return cell; }
  cell.textContent = subject;
  if (audit.erased[subject]) cell.append(el("span", { class: "muted" }, ` (${audit.erased[subject]})`));
  return cell;
}

function auditRow(r) {
  const row = el("tr", { "data-seq": String(r.seq) });
  row.append(el("td", {}, String(r.seq)), el("td", {}, dateTime(r.at)), el("td", {}, r.actor), el("td", {}, r.action),
    subjectCell(r.subject), el("td", { class: "details" }, JSON.stringify(r.details)));
  return row;
}

function groupRow(group) {
  const first = group.records[group.records.length - 1], last = group.records[0];
  const actions = [...new Set(group.records.map((r) => r.action))].join(", ");
  const row = el("tr", { class: "read-group", "data-seq": `${first.seq}-${last.seq}` });
  const open = el("button", { type: "button", class: "expand", "aria-expanded": "false" }, `Show the ${group.records.length} records`);
  open.addEventListener("click", () => {
    const shown = open.getAttribute("aria-expanded") === "true";
    open.setAttribute("aria-expanded", String(!shown));
    open.textContent = shown ? `Show the ${group.records.length} records` : "Hide them";
    if (shown) row.parentNode.querySelectorAll(`tr[data-in="${row.dataset.seq}"]`).forEach((r) => r.remove());
    else row.after(...group.records.map((r) => { const child = auditRow(r); child.dataset.in = row.dataset.seq; child.classList.add("in-group"); return child; }));
  });
  const details = el("td", { class: "details" });
  details.append(open);
  row.append(el("td", {}, `${first.seq}–${last.seq}`), el("td", {}, dateTime(first.at)), el("td", {}, group.actor),
    el("td", {}, `one page view: ${group.records.length} reads`), el("td", {}, actions), details);
  return row;
}

function auditQuery(extra = {}) {
  const query = new URLSearchParams();
  const fields = { actor: $("audit-actor").value.trim(), action: $("audit-action").value.trim(),
    subject: $("audit-subject").value.trim(), since: isoOf($("audit-since").value), until: isoOf($("audit-until").value) };
  for (const [name, value] of Object.entries({ ...fields, ...extra })) if (value !== null && value !== "") query.set(name, value);
  return query;
}

async function loadAudit() {
  const bad = timeProblem($("audit-since").value, $("audit-until").value);
  if (bad) { setStatus("audit-verdict", bad, true); return; }
  try {
    const page = await json(`/audit?${auditQuery({ limit: audit.limit, offset: audit.offset })}`);
    audit.total = page.total;
    const grouped = $("audit-group").checked ? groupReads(page.items) : page.items.map((r) => ({ group: false, records: [r] }));
    const rows = grouped.map((g) => (g.group && g.records.length > 1 ? groupRow(g) : auditRow(g.records[0])));
    $("audit-table").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(6, "No record matches.")]));
    const last = Math.min(audit.offset + audit.limit, page.total);
    $("audit-range").textContent = page.total ? `records ${audit.offset + 1}–${last} of ${page.total}, newest first` : "0 records";
    $("audit-prev").disabled = audit.offset === 0;
    $("audit-next").disabled = last >= page.total;
  } catch (e) { setStatus("audit-verdict", e.message, true); }
}

async function loadAuditEntries() {
  const page = await json("/audit/entries?limit=500");
  audit.names = Object.fromEntries(page.items.map((p) => [p.entry_id, p.display_name]));
  audit.erased = {};
  const erased = await json("/audit/people?q=");
  for (const p of erased.items) if (p.state === "erased") audit.erased[p.entry_id] = `erased on ${day(p.erased_at)}`;
  const rows = page.items.map((p) => {
    const row = el("tr", { "data-entry": p.entry_id });
    const days = daysUntil(p.expires_at);
    row.append(el("td", {}, p.display_name), el("td", {}, p.watchlist), el("td", {}, p.legal_basis), el("td", {}, p.image_source),
      el("td", {}, p.enrolled_by), el("td", {}, day(p.created_at)), el("td", {}, `${day(p.expires_at)} (in ${days} days)`));
    return row;
  });
  $("audit-entries").querySelector("tbody").replaceChildren(...(rows.length ? rows : [emptyRow(7, "No entries.")]));
}

$("audit-form").addEventListener("submit", (event) => { event.preventDefault(); audit.offset = 0; loadAudit(); });
$("audit-group").addEventListener("change", () => loadAudit());

// Find a person: a name (any part, any case) gives the entry's id for the log; an erased entry shows by id only.
async function lookUp(q) {
  try {
    const found = await json(`/audit/people?${new URLSearchParams({ q })}`);
    const rows = found.items.map((p) => {
      const row = el("tr", { "data-entry": p.entry_id });
      const records = el("button", { type: "button", class: "records" }, "Show its records");
      records.setAttribute("aria-label", `audit records of entry ${p.entry_id}`);
      records.addEventListener("click", () => { $("audit-subject").value = p.entry_id; audit.offset = 0; loadAudit(); $("audit-table").scrollIntoView(); });
      const cell = el("td");
      cell.append(records);
      const how = { "watchlist.erase": "data-subject erasure", "watchlist.expire": "expired", "watchlist.remove": "removed" }[p.erased_how] || "";
      row.append(el("td", { class: "id" }, p.entry_id), el("td", {}, p.display_name || "(name erased)"), el("td", {}, p.watchlist || "–"),
        el("td", {}, p.state === "current" ? `current, enrolled on ${day(p.enrolled_at)}` : `erased on ${day(p.erased_at)}${how ? ` (${how})` : ""}`), cell);
      return row;
    });
    $("lookup-table").hidden = !rows.length;
    $("lookup-table").querySelector("tbody").replaceChildren(...rows);
    setStatus("lookup-status", rows.length ? `${rows.length} entr${rows.length === 1 ? "y" : "ies"} found.`
      : q ? `No current entry is named like "${q}", and no erased entry has an id starting so. Erased entries keep no name: look them up by id.`
        : "No entry has been erased.");
  } catch (e) { setStatus("lookup-status", e.message, true); }
}
$("lookup-form").addEventListener("submit", (event) => { event.preventDefault(); lookUp($("lookup-q").value.trim()); });
$("lookup-erased").addEventListener("click", () => { $("lookup-q").value = ""; lookUp(""); });
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
  $("search-results").replaceChildren(); $("search-evidence").replaceChildren(); $("search-title").textContent = "";
  $("search-visits").querySelector("tbody").replaceChildren(); $("search-plan").replaceChildren();
  const bad = timeProblem($("search-since").value, $("search-until").value);
  if (bad) { setStatus("search-status", bad, true); return; }
  const query = new URLSearchParams({ limit: "500" });
  const fields = { person: $("search-person").value, camera: $("search-camera").value,
    since: isoOf($("search-since").value), until: isoOf($("search-until").value) };
  for (const [name, value] of Object.entries(fields)) if (value) query.set(name, value);
  try {
    const page = await json(`/tracks?${query}`);
    $("search-results").replaceChildren(...page.items.map((t) => trackItem(t, dateTime, showSearchedTrack)));
    const span = `from ${dateTime(page.window.since)} to ${dateTime(page.window.until)}`;
    setStatus("search-status", page.items.length ? `${page.items.length} track${page.items.length === 1 ? "" : "s"} ${span}.`
      : `No track ${span}. Widen the time or choose "anyone" and "any camera".`);
    if (page.items.length === 1) showSearchedTrack(page.items[0]);
  } catch (e) { setStatus("search-status", e.message, true); }
});

// From and To in words before anything is asked: To defaults to now, From to 24 hours before To.
function timeProblem(since, until) {
  const now = Date.now();
  if (since && new Date(since).getTime() > now) return "From is in the future: choose a time before now.";
  if (since && until && new Date(since) >= new Date(until)) return "From must be before To.";
  return "";
}

function showSearchedTrack(track) {
  $("search-title").textContent = `${track.person}, ${dateTime(track.started_at)}`;
  drawPlan(track, $("search-plan"));
  $("search-evidence").replaceChildren();
  $("search-visits").querySelector("tbody").replaceChildren(...track.visits.map((v, i) => {
    const row = el("tr", { "data-camera": v.camera_id });
    const open = el("button", { type: "button", class: "evidence" }, "Open");
    open.setAttribute("aria-label", `evidence of visit ${i + 1} at ${v.camera_name}`);
    open.addEventListener("click", () => openVisitEvidence(track, v));
    const cell = el("td");
    cell.append(open);
    row.append(el("td", {}, String(i + 1)), el("td", {}, v.camera_name), el("td", {}, time(v.entered_at)),
      el("td", {}, time(v.exited_at)), el("td", {}, `distance ${(1 - v.best_score).toFixed(2)}`), cell);
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
      item.append(await figure(s.evidence_url, `Seen ${time(s.first_seen)}`, `face seen at ${s.camera_name}, ${dateTime(s.first_seen)}`, "No crop stored"),
        el("div", {}, `${matchWords(s.score)} · ${statusText(s)}`));
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

// A decision anyone took (here or on another console, pushed live): a card that no longer fits the list leaves it, saying where.
function reviewUpdated(s) {
  const card = $("review-list").querySelector(`li.alert[data-event="${s.event_id}"]`);
  if (!card) return;
  const filter = $("review-filter").value;
  const fits = filter === "first" ? s.status === "candidate" && s.confirmations === 0
    : filter === "second" ? s.status === "candidate" && s.confirmations > 0 : s.status === filter;
  if (fits) return;
  const last = s.decisions[s.decisions.length - 1];
  const by = last ? ` by ${last.reviewer}` : "";
  const now = s.status === "candidate" ? `waits for a second reviewer (${s.confirmations}/${s.required})` : `is ${s.status}`;
  setTimeout(() => card.remove(), 4000); // long enough to read on the card itself, then the queue is current
  card.classList.add("leaving");
  setStatus("review-status", `${s.person} at ${s.camera_name}, ${time(s.first_seen)}: decided${by}; it now ${now}, so it leaves this list.`);
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
  toggle.addEventListener("click", () => {
    if (!u.disabled && toggle.dataset.armed !== "yes") { // disabling ends their sessions at once: a second press
      toggle.dataset.armed = "yes"; toggle.textContent = `Really disable ${u.username}? Their sessions end`;
      return;
    }
    setUserState(u, !u.disabled);
  });
  const reset = el("button", { type: "button", class: "reset" }, "Reset password");
  reset.addEventListener("click", () => resetForm(u, actions));
  actions.append(toggle, reset);
  row.append(el("td", {}, u.username), el("td", {}, u.role), el("td", {}, day(u.created_at)),
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

async function loadCameraTable(data) {
  data = data || await json("/cameras");
  $("cameras-table").querySelector("tbody").replaceChildren(...data.items.map((c) => {
    const row = el("tr", { "data-camera": c.camera_id });
    row.append(el("td", {}, c.camera_id), el("td", {}, c.name), el("td", {}, String(c.x)), el("td", {}, String(c.y)),
      el("td", {}, c.health ? c.health.state : "no report"));
    return row;
  }));
}

// The preview is the plan as operators see it: the image, the camera markers on it, and the metres it spans now.
async function showPlanPreview() {
  await loadSitePlan();
  if (!state.cameras.length) state.cameras = (await json("/cameras")).items;
  const preview = svg("svg", { id: "preview-plan", class: "plan-svg", viewBox: "0 0 640 360", role: "img",
    "aria-label": "site plan preview with the camera markers" });
  drawPlan(undefined, preview);
  const words = state.plan ? `The plan spans ${state.plan.width_m} × ${state.plan.height_m} m (${state.plan.width}×${state.plan.height} px).`
    : "No site plan: the cameras are drawn on an empty ground.";
  $("plan-preview").replaceChildren(el("p", { class: "muted" }, words), preview);
  if (state.plan) { $("plan-width-m").value = state.plan.width_m; $("plan-height-m").value = state.plan.height_m; }
}

$("plan-file").addEventListener("change", async (event) => {
  const [file] = event.target.files;
  if (!file) return;
  try {
    if (!$("plan-form").reportValidity()) {
      setStatus("admin-status", "Give the metres the plan spans first, then choose the image again.", true);
      event.target.value = ""; return;
    }
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

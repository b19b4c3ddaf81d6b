// The operators' archive-jobs console: progress per camera, each job's state, ETA and failed segments.
// Same rules as app.js: plain JS, no network beyond this server, no inline script or style (the CSP forbids both).
"use strict";

const ARCHIVE_POLL_MS = 5000;
const archive = { timer: null };
const duration = (s) => {
  if (s === null || s === undefined) return "-";
  const t = Math.round(s);
  return `${Math.floor(t / 3600)}:${String(Math.floor((t % 3600) / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")}`;
};
const percent = (p) => `${(100 * p).toFixed(1)} %`;

LOADERS["archive-view"] = async () => {
  clearInterval(archive.timer);
  // refreshed while the console is open; stops once another view (or sign-out) hides it
  archive.timer = setInterval(() => {
    if ($("archive-view").hidden || !state.token) { clearInterval(archive.timer); return; }
    loadArchive().catch((e) => setStatus("archive-status", e.message, true));
  }, ARCHIVE_POLL_MS);
  await loadArchive();
};

async function loadArchive() {
  const data = await json("/archive/jobs");
  const cameras = data.cameras.map((c) => {
    const row = el("tr", { "data-camera": c.camera_id });
    row.append(el("td", {}, c.camera_id), el("td", {}, String(c.jobs)),
      el("td", {}, `${duration(c.done_s)} of ${duration(c.footage_s)}`), progressCell(c.progress),
      el("td", { class: "eta" }, duration(c.eta_s)), el("td", {}, String(c.segments_dead)));
    return row;
  });
  $("archive-cameras").querySelector("tbody").replaceChildren(...(cameras.length ? cameras : [emptyRow(6, "No open archive search.")]));
  const jobs = data.items.map(jobRow);
  $("archive-jobs").querySelector("tbody").replaceChildren(...(jobs.length ? jobs : [emptyRow(10, "No archive jobs.")]));
  const failed = data.items.flatMap((j) => j.failed_segments.map((s) => {
    const row = el("tr", { "data-segment": s.segment_id });
    row.append(el("td", {}, j.job_id), el("td", {}, `#${s.ordinal}`),
      el("td", {}, `${dateTime(s.starts_at)} – ${time(s.ends_at)}`), el("td", {}, String(s.attempts)),
      el("td", { class: "error" }, s.error || ""));
    return row;
  }));
  $("archive-failed").querySelector("tbody").replaceChildren(...(failed.length ? failed : [emptyRow(5, "No failed segments.")]));
}

function progressCell(fraction) {
  const cell = el("td", { class: "progress" });
  const bar = el("progress", { max: "1", value: String(fraction) });
  cell.append(bar, document.createTextNode(` ${percent(fraction)}`));
  return cell;
}

function jobRow(j) {
  const row = el("tr", { "data-job": j.job_id });
  const actions = el("td", { class: "row-actions" });
  if (j.state === "queued" || j.state === "running") actions.append(jobAction(j, "cancel", "Cancel"));
  if (j.segments_dead || j.state === "cancelled") actions.append(jobAction(j, "retry", "Retry"));
  row.append(el("td", {}, j.job_id), el("td", {}, j.camera_id), el("td", { class: "state" }, j.state),
    progressCell(j.progress), el("td", { class: "eta" }, duration(j.eta_s)),
    el("td", {}, `${j.segments_done}/${j.segments_total} done, ${j.segments_running} running, ${j.segments_dead} failed`),
    el("td", {}, String(j.sightings_published)), el("td", {}, j.authorisation), el("td", {}, j.requested_by), actions);
  return row;
}

function jobAction(job, action, label) {
  const button = el("button", { type: "button", class: action }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const done = await json(`/archive/jobs/${job.job_id}/${action}`, { method: "POST" });
      setStatus("archive-status", `Job ${job.job_id}: ${action === "cancel" ? "cancelled" : "queued again"} (${done.segments} segment(s)).`);
      await loadArchive();
    } catch (e) {
      setStatus("archive-status", e.message, true);
      button.disabled = false;
    }
  });
  return button;
}

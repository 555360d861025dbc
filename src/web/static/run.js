// run.js — a run's page, live. The server rendered the run as it was and
// put the last event it showed in data-last-seq; this follows the run's
// event stream (SSE) from there, appends log lines and updates statuses.
// EventSource reconnects by itself after a dropped connection and sends
// Last-Event-ID; events at or below the last one shown are skipped, so the
// log has no gap and no line twice. Without it the page is complete as of
// its rendering (web/runs.c renders the same markup: keep the two alike).
"use strict";
(function () {
  const LABELS = {
    success: ["\u2713", "Success"], failure: ["\u2717", "Failed"],
    cancelled: ["\u2298", "Cancelled"], skipped: ["\u21b7", "Skipped"],
    running: ["\u25cf", "Running"], queued: ["\u25cb", "Queued"],
    pending: ["\u25cb", "Pending"], waiting: ["\u2016", "Waiting for approval"],
  };
  const FINISHED = ["success", "failure", "cancelled", "skipped"];
  const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

  function label(status) {
    return LABELS[status] || ["?", status || "unknown"];
  }

  // Text as the server's html_txt shows it: bidi controls named in a
  // visible span instead of reordering what follows, other controls
  // (but tab) as U+FFFD.
  function appendText(el, s) {
    s = String(s == null ? "" : s).replace(/[\u0000-\u0008\u000b-\u001f]/g, "\ufffd");
    let rest = s;
    for (;;) {
      const m = BIDI.exec(rest);
      if (!m) break;
      el.append(rest.slice(0, m.index));
      const tag = document.createElement("span");
      tag.className = "bidi";
      tag.textContent = "[U+" + m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "]";
      el.append(tag);
      rest = rest.slice(m.index + 1);
    }
    el.append(rest);
  }

  // An HTML status badge (id) or an SVG status text.
  function setStatus(id, status) {
    const el = document.getElementById(id);
    if (!el || !status) return;
    const [glyph, text] = label(status);
    if (el instanceof SVGElement) {
      el.textContent = glyph + " " + text;
      const g = el.parentNode;
      g.setAttribute("class", "node state-" + (LABELS[status] ? status : "unknown"));
      return;
    }
    el.className = "status state-" + (LABELS[status] ? status : "unknown");
    el.dataset.status = status;
    el.textContent = "";
    const hid = document.createElement("span");
    hid.setAttribute("aria-hidden", "true");
    hid.textContent = glyph;
    el.append(hid, " " + text);
  }

  function setText(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text || "";
  }

  function duration(ms) {
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
    const pad = (n) => String(n).padStart(2, "0");
    if (ms < 3600000) return Math.floor(ms / 60000) + " m " + pad(Math.floor(ms / 1000) % 60) + " s";
    return Math.floor(ms / 3600000) + " h " + pad(Math.floor(ms / 60000) % 60) + " m";
  }

  function logOf(d) {
    return (d && d.job_id != null && document.getElementById("log-" + d.job_id)) ||
      document.getElementById("log-run");
  }

  function line(seq, d, cls, prefix, text) {
    const log = logOf(d);
    if (!log) return;
    if (log.id === "log-run") log.closest("section").hidden = false;
    const span = document.createElement("span");
    span.className = cls;
    span.dataset.seq = String(seq);
    span.append(prefix);
    appendText(span, text);
    span.append("\n");
    // follow the end only when the reader is there already
    const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(span);
    if (atEnd) log.scrollTop = log.scrollHeight;
  }

  function stepStatus(d, status) {
    const id = "step-" + d.job_id + "-" + d.step;
    setStatus(id + "-status", status);
    if (d.reason) setText(id + "-reason", d.reason);
    if (typeof d.duration_ms === "number") setText(id + "-dur", duration(d.duration_ms));
  }

  function jobStatus(jobId, status) {
    setStatus("job-" + jobId + "-status", status);
    setStatus("jobs-" + jobId + "-status", status);
    setStatus("graph-job-" + jobId + "-status", status);
  }

  function start() {
    const root = document.getElementById("run");
    if (!root || !root.dataset.stream) return;
    const live = document.getElementById("run-live");
    const say = (m) => { if (live) live.textContent = m; };
    let last = Number(root.dataset.lastSeq) || 0;
    const es = new EventSource(root.dataset.stream + "?last_event_id=" + last);

    const handlers = {
      step_start(seq, d) {
        line(seq, d, "ln step", "\u2500\u2500 ", d.name || "step");
        stepStatus(d, "running");
        const job = document.getElementById("job-" + d.job_id + "-status");
        if (job && job.dataset.status !== "running") jobStatus(d.job_id, "running");
        const run = document.getElementById("run-status");
        if (run && run.dataset.status !== "running") setStatus("run-status", "running");
      },
      log(seq, d) {
        line(seq, d, d.stream === "stderr" ? "ln stderr" : "ln", "", d.line);
      },
      step_end(seq, d) { stepStatus(d, d.status); },
      job_end(seq, d) {
        jobStatus(d.job_id, d.status);
        if (d.reason) setText("job-" + d.job_id + "-reason", d.reason);
      },
      error(seq, d) { line(seq, d, "ln note", "error: ", d.message); },
      aborted(seq, d) { line(seq, d, "ln note", "aborted: ", d.reason); },
      done(seq, d) {
        setStatus("run-status", d.status);
        const cancel = document.getElementById("run-cancel");
        if (cancel) cancel.hidden = true;
        for (const id of ["run-approve", "run-cancelling"]) {
          const el = document.getElementById(id);
          if (el) el.hidden = true;
        }
        es.close();
        say("The run has finished: " + label(d.status)[1] + ".");
        root.dataset.done = "true";
      },
    };
    for (const type of Object.keys(handlers)) {
      es.addEventListener(type, (ev) => {
        const seq = Number(ev.lastEventId);
        if (!(seq > last)) return; // shown already (replayed after a reconnect)
        last = seq;
        root.dataset.lastSeq = String(seq);
        let d = {};
        try { d = JSON.parse(ev.data); } catch { /* not JSON: nothing to show */ }
        handlers[type](seq, d);
      });
    }
    es.addEventListener("open", () => say("Following the run live."));
    es.addEventListener("error", (ev) => {
      if (ev instanceof MessageEvent) return; // the run's own "error" events
      if (es.readyState === EventSource.CLOSED) say("Live updates stopped: reload the page.");
      else say("Connection lost: reconnecting\u2026");
    });
  }
  document.addEventListener("DOMContentLoaded", start);
})();

// agent.js — a session's page, live. The server rendered the conversation
// as the stream had it at data-last-seq; this follows the session's
// stream (SSE) from there: messages as they start, the model's text as it
// comes, tool calls and their results, the end of a turn. EventSource
// reconnects by itself and sends Last-Event-ID; events at or below the
// last one shown are skipped, so nothing shows twice. Text arriving live
// is plain text; the page shows it as Markdown when reloaded. Without
// this script the page is complete as of its rendering (web/agents.c
// renders the same markup: keep the two alike).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }

  function setStatus(running) {
    const s = $("session-status");
    if (s) {
      s.className = running ? "status state-running" : "status";
      s.dataset.status = running ? "running" : "idle";
      s.textContent = "";
      const g = el("span", null, running ? "\u25cf" : "\u25cb");
      g.setAttribute("aria-hidden", "true");
      s.append(g, running ? " Running" : " Idle");
    }
    const abort = $("abort-form");
    if (abort) abort.hidden = !running;
    const fields = $("send-fields");
    if (fields && !document.querySelector(".notice.archived")) {
      fields.disabled = running;
      const legend = $("send-legend");
      if (legend) legend.textContent = running ? "The agent is working: wait for it or abort it" : "Your message";
    }
  }

  function usageText(u, cost) {
    const out = [];
    if (u && u.input_tokens) out.push(u.input_tokens + " in");
    if (u && u.output_tokens) out.push(u.output_tokens + " out");
    if (u && u.cache_read_tokens) out.push(u.cache_read_tokens + " cached");
    if (typeof cost === "number") out.push("$" + cost.toFixed(4));
    return out.join(" \u00b7 ");
  }

  // The message block of id, made when missing (d: message_start's data).
  function message(id, d) {
    let li = $("msg-" + id);
    if (li) return li;
    const none = $("no-messages");
    if (none) none.hidden = true;
    const user = d && d.role === "user";
    li = el("li", "msg " + (user ? "msg-user" : "msg-assistant"));
    li.id = "msg-" + id;
    li.dataset.id = String(id);
    li.dataset.status = "streaming";
    li.dataset.live = "true";
    const head = el("div", "msg-head");
    head.append(el("strong", null, user ? (d.author || "You") : "Agent"));
    if (d && d.model) head.append(" ", el("code", "mute", d.model));
    const st = el("span", "msg-status mute", user ? "" : "streaming");
    st.id = "msg-" + id + "-status";
    head.append(" ", st);
    const body = el("div", "msg-body");
    body.id = "msg-" + id + "-body";
    const err = el("p", "error msg-error");
    err.id = "msg-" + id + "-error";
    err.hidden = true;
    li.append(head, body, err);
    if (!user) {
      const u = el("p", "usage mute");
      u.id = "msg-" + id + "-usage";
      li.append(u);
    }
    $("messages").append(li);
    return li;
  }

  // The text block at index of a message being streamed.
  function textBlock(li, index) {
    const body = li.querySelector(".msg-body");
    let t = body.querySelector(':scope > .part.text[data-index="' + index + '"]');
    if (!t) {
      t = el("div", "part text live");
      t.dataset.index = String(index);
      body.append(t);
    }
    return t;
  }

  // The newest message of the agent: where tool calls go.
  function lastAssistant() {
    const all = document.querySelectorAll("#messages > .msg-assistant");
    return all.length ? all[all.length - 1] : null;
  }

  function toolBlock(d) {
    let det = $("tool-" + d.id);
    if (det) return det;
    const li = lastAssistant();
    if (!li) return null;
    det = el("details", "part tool");
    det.id = "tool-" + d.id;
    const sum = el("summary");
    sum.append(el("code", null, d.name || "tool"), " ", el("span", "tool-state mute", "running\u2026"));
    const body = el("div", "tool-body");
    body.append(el("p", "mute", "Input"),
      el("pre", "tool-input", JSON.stringify(d.input === undefined ? null : d.input, null, 2)),
      el("p", "mute", "Output"), el("pre", "tool-output"));
    det.append(sum, body);
    li.querySelector(".msg-body").append(det);
    return det;
  }

  function start() {
    const root = $("session");
    if (!root || !root.dataset.stream) return;
    const live = $("session-live");
    const say = (m) => { if (live) live.textContent = m; };
    const errBox = $("session-error");
    const showError = (m) => { if (errBox) { errBox.textContent = m; errBox.hidden = false; } };
    let last = Number(root.dataset.lastSeq) || 0;
    const es = new EventSource(root.dataset.stream + "?last_event_id=" + last);

    const handlers = {
      message_start(d) {
        const fresh = !$("msg-" + d.message_id);
        const li = message(d.message_id, d);
        if (d.restart && li.dataset.live === "true") {
          li.querySelector(".msg-body").textContent = "";
        }
        if (fresh && d.role === "user" && d.text != null) {
          const t = el("div", "part text live", d.text);
          t.dataset.index = "0";
          li.querySelector(".msg-body").append(t);
        }
        if (d.role !== "user") setStatus(true);
        if (errBox && d.role === "user") errBox.hidden = true;
      },
      token(d) {
        const li = $("msg-" + d.message_id);
        // a message the page rendered finished holds this text already
        if (!li || li.dataset.live !== "true" && li.dataset.status !== "streaming") return;
        textBlock(li, d.index).append(String(d.text == null ? "" : d.text));
      },
      tool_start(d) { toolBlock(d); },
      tool_end(d) {
        const det = toolBlock(d);
        if (!det) return;
        det.querySelector(".tool-output").textContent = String(d.output == null ? "" : d.output);
        if (d.is_error) det.classList.add("is-error");
        let s = d.is_error ? "failed" : "done";
        if (typeof d.duration_ms === "number") s += " in " + d.duration_ms + " ms";
        det.querySelector(".tool-state").textContent = s;
      },
      message_end(d) {
        const li = message(d.message_id, d);
        li.dataset.status = d.status || "";
        const st = $("msg-" + d.message_id + "-status");
        if (st) st.textContent = d.status === "complete" ? "" : (d.status || "");
        if (d.error) {
          const e = $("msg-" + d.message_id + "-error");
          if (e) { e.textContent = d.error; e.hidden = false; }
        }
        const u = $("msg-" + d.message_id + "-usage");
        if (u && (d.usage || typeof d.cost_usd === "number")) u.textContent = usageText(d.usage, d.cost_usd);
      },
      error(d) { showError("Error: " + (d.message || d.code || "the turn failed")); },
      aborted(d) { say("Aborted" + (d.reason ? ": " + d.reason : "") + "."); },
      done(d) {
        setStatus(false);
        if (d.result === "error" && d.reason && errBox && errBox.hidden) showError("Error: " + d.reason);
        // a message the turn's end cut short says why, as the page does on reload
        const li = lastAssistant();
        const e = li && $("msg-" + li.dataset.id + "-error");
        if (e && e.hidden && d.reason && li.dataset.status !== "complete") {
          e.textContent = d.reason;
          e.hidden = false;
        }
        say(d.result === "cancelled" ? "The turn was aborted." : "The turn has ended.");
        root.dataset.turns = String((Number(root.dataset.turns) || 0) + 1);
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
        handlers[type](d);
      });
    }
    es.addEventListener("open", () => { if (!live.textContent) say("Following the session live."); });
    es.addEventListener("error", (ev) => {
      if (ev instanceof MessageEvent) return; // the session's own "error" events
      if (es.readyState === EventSource.CLOSED) say("Live updates stopped: reload the page.");
      else say("Connection lost: reconnecting\u2026");
    });
  }
  document.addEventListener("DOMContentLoaded", start);
})();

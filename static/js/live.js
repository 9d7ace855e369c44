/* Live calls: one WebSocket per page to /ws/live-calls/ (voiceagent/consumers.py).
 *
 * Every page: keeps the navigation's #live-call-count up to date, and turns
 * each `appointment.changed` event into a `clinic:changed` event on
 * document.body, which tables and panels listen to (hx-trigger) to refresh;
 * likewise `callback.changed` keeps #callback-count and becomes `clinic:callbacks`.
 * On the Live calls page (#live-calls-body present) it also adds, changes and
 * removes the rows, and keeps "started N min ago" ticking.
 *
 * State = the last snapshot + the events after it. The server sends a snapshot
 * on connect, on every reconnect and every few seconds; events are applied by
 * room, newest `updated_at` wins, so applying one twice changes nothing.
 * Rows are built with textContent only: caller names come from phone calls.
 */
(function () {
  "use strict";

  var TICK_MS = 20000;
  var MAX_BACKOFF_MS = 30000;

  var calls = new Map(); // room -> call, as in voiceagent.livecalls.CallState.as_dict()
  var socket = null;
  var attempts = 0;
  var reconnectTimer = null;
  var stopped = false;

  function $(id) { return document.getElementById(id); }

  function setStatus(state, text) {
    var el = $("live-status");
    if (!el) return;
    if (el.dataset.state === state && el.textContent === text) return;
    el.dataset.state = state;
    el.textContent = text;
  }

  function minutesAgo(iso) {
    var started = Date.parse(iso);
    if (isNaN(started)) return "";
    var minutes = Math.max(0, Math.floor((Date.now() - started) / 60000));
    return minutes === 0 ? "just now" : minutes + " min ago";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function buildRow(call) {
    // The same markup as templates/voiceagent/_live_call_row.html.
    var row = document.createElement("tr");
    row.dataset.room = call.room;
    row.dataset.updated = call.updated_at || "";

    var caller = el("td", "live-caller");
    var name = call.caller_name || "Unknown caller";
    var section = $("live-calls");
    var pattern = section ? section.dataset.patientUrl : "";
    var nameNode;
    if (call.patient_id && pattern) {
      nameNode = el("a", "live-caller-name", name);
      nameNode.href = pattern.replace("{id}", encodeURIComponent(String(call.patient_id)));
    } else {
      nameNode = el("span", "live-caller-name", name);
    }
    caller.appendChild(nameNode);
    caller.appendChild(document.createTextNode(" "));
    caller.appendChild(el("span", "live-caller-phone", call.caller_phone_display || call.caller_phone || "withheld"));

    var stage = el("td", "live-stage");
    var safeStage = String(call.stage || "").replace(/[^a-z_]/g, "");
    stage.appendChild(el("span", "stage stage-" + safeStage, call.stage_label || call.stage || ""));

    var slot = el("td", "live-slot");
    if (call.requested_slot_label || call.provider) {
      slot.appendChild(document.createTextNode(call.requested_slot_label || "Any time"));
      if (call.provider) {
        slot.appendChild(document.createTextNode(" "));
        slot.appendChild(el("span", "live-provider", "with " + call.provider));
      }
    } else {
      slot.appendChild(el("span", "muted", "Not yet"));
    }

    var started = el("td", "live-started");
    var time = el("time", null, minutesAgo(call.started_at));
    time.setAttribute("datetime", call.started_at || "");
    started.appendChild(time);

    row.appendChild(caller);
    row.appendChild(stage);
    row.appendChild(slot);
    row.appendChild(started);
    return row;
  }

  function findRow(body, room) {
    for (var i = 0; i < body.children.length; i++) {
      if (body.children[i].dataset.room === room) return body.children[i];
    }
    return null;
  }

  function render() {
    var count = $("live-call-count");
    if (count) count.textContent = String(calls.size);

    var body = $("live-calls-body");
    if (!body) return;
    var ordered = Array.from(calls.values()).sort(function (a, b) {
      return a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : 0;
    });
    // Remove rows of calls that left.
    Array.from(body.children).forEach(function (row) {
      if (!calls.has(row.dataset.room)) row.remove();
    });
    // Add new rows and replace changed ones, in started_at order.
    ordered.forEach(function (call, index) {
      var row = findRow(body, call.room);
      if (!row || row.dataset.updated !== (call.updated_at || "")) {
        var fresh = buildRow(call);
        if (row) row.replaceWith(fresh);
        row = fresh;
      }
      if (body.children[index] !== row) body.insertBefore(row, body.children[index] || null);
    });
    var empty = $("live-calls-empty");
    if (empty) empty.hidden = calls.size > 0;
  }

  function newer(incoming, current) {
    if (!current) return true;
    var a = Date.parse(incoming.updated_at), b = Date.parse(current.updated_at);
    return isNaN(a) || isNaN(b) || a >= b;
  }

  function handle(message) {
    switch (message.type) {
      case "snapshot":
        calls = new Map();
        (message.calls || []).forEach(function (call) { calls.set(call.room, call); });
        setStatus("live", "Live");
        render();
        break;
      case "call.updated":
        if (message.call && newer(message.call, calls.get(message.call.room))) {
          calls.set(message.call.room, message.call);
          render();
        }
        break;
      case "call.ended":
        if (calls.delete(message.room)) render();
        break;
      case "appointment.changed":
        document.body.dispatchEvent(new CustomEvent("clinic:changed", { detail: message.appointment || {} }));
        break;
      case "callback.changed":
        var badge = $("callback-count");
        if (badge && typeof message.open === "number") {
          badge.textContent = String(message.open);
          badge.hidden = message.open === 0;
        }
        document.body.dispatchEvent(new CustomEvent("clinic:callbacks", { detail: message.callback || {} }));
        break;
      case "unavailable":
        setStatus("reconnecting", "Live calls unavailable; retrying…");
        break;
    }
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    // 1 s, 2 s, 4 s ... up to 30 s, with jitter so that many tabs do not return at once.
    var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, attempts)) * (0.75 + Math.random() * 0.5);
    attempts += 1;
    setStatus("reconnecting", "Reconnecting…");
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, delay);
  }

  function connect() {
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return;
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    try {
      socket = new WebSocket(scheme + "//" + location.host + "/ws/live-calls/");
    } catch (err) {
      scheduleReconnect();
      return;
    }
    socket.addEventListener("open", function () { attempts = 0; window.liveSocketOpen = true; });
    socket.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (err) { return; }
      handle(message);
    });
    socket.addEventListener("close", function (event) {
      socket = null;
      window.liveSocketOpen = false;
      if (event.code === 4403) {
        // The server closed it: this tab's session ended or lost the role. Retrying would not help.
        stopped = true;
        setStatus("stopped", "Signed out; reload the page to sign in again.");
        return;
      }
      scheduleReconnect();
    });
  }

  function reconnectNow() {
    if (socket || stopped) return;
    if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
    attempts = 0;
    connect();
  }

  function tick() {
    var body = $("live-calls-body");
    if (!body) return;
    body.querySelectorAll("time[datetime]").forEach(function (time) {
      var text = minutesAgo(time.getAttribute("datetime"));
      if (text && time.textContent !== text) time.textContent = text;
    });
  }

  function start() {
    // Rows rendered by the server are the state until the snapshot arrives.
    var body = $("live-calls-body");
    if (body) tick();
    connect();
    setInterval(tick, TICK_MS);
    window.addEventListener("online", reconnectNow);
    // A socket can sit "open" on a dead network for minutes; drop it at once and let the backoff retry.
    window.addEventListener("offline", function () { if (socket) socket.close(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") reconnectNow();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

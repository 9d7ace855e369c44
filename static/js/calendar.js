/* The calendar: move appointments by drag and drop, or by keyboard ("Move",
 * then a free time); keep the current-time line where it belongs.
 *
 * Both ways post the same form to the block's data-move-url
 * (scheduling.views.appointment_move -> services.appointment_reschedule).
 * The page never moves a block itself: success answers `clinic:changed` and
 * the grid re-renders from the database; a refusal answers `clinic:refused`,
 * its message shows in the toast and the grid re-renders as it was, so the
 * block "snaps back". Drop targets are free times and other appointments
 * (dropping on one lets the service say that time is taken).
 */
(function () {
  "use strict";

  var STEP_MINUTES = 5;
  var dragged = null;
  var moving = null; // {url, label} while a keyboard move waits for a free time

  function status(text) {
    var el = document.getElementById("calendar-status");
    if (el) el.textContent = text;
  }

  function move(url, target) {
    htmx.ajax("POST", url, {
      source: document.body, swap: "none",
      values: { provider: target.dataset.provider, date: target.dataset.date, time: target.dataset.time },
    });
  }

  function dropTarget(evt) {
    var target = evt.target.closest && evt.target.closest("#calendar [data-drop]");
    return target && target !== dragged ? target : null;
  }

  function clearTargets() {
    document.querySelectorAll("#calendar .drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  }

  document.addEventListener("dragstart", function (evt) {
    var block = evt.target.closest && evt.target.closest(".cal-appt[draggable='true']");
    if (!block) return;
    dragged = block;
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", block.dataset.label || "");
    block.classList.add("dragging");
  });

  document.addEventListener("dragover", function (evt) {
    if (!dragged) return;
    var target = dropTarget(evt);
    if (!target) return;
    evt.preventDefault(); // allow the drop here
    evt.dataTransfer.dropEffect = "move";
    if (!target.classList.contains("drop-target")) {
      clearTargets();
      target.classList.add("drop-target");
    }
  });

  document.addEventListener("drop", function (evt) {
    if (!dragged) return;
    var target = dropTarget(evt);
    if (!target) return;
    evt.preventDefault();
    move(dragged.dataset.moveUrl, target);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearTargets();
  });

  // Keyboard (and touch): Move, then a free time; Escape gives up.
  function stopMoving(text) {
    moving = null;
    document.body.classList.remove("calendar-moving");
    status(text || "");
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("#calendar [data-move]");
    if (button) {
      var block = button.closest(".cal-appt");
      moving = { url: block.dataset.moveUrl, label: block.dataset.label };
      document.body.classList.add("calendar-moving");
      status("Moving " + moving.label + ": choose a free time, or press Escape to keep it where it is.");
      var first = document.querySelector("#calendar .cal-free");
      if (first) first.focus();
      return;
    }
    if (!moving) return;
    var slot = evt.target.closest && evt.target.closest("#calendar .cal-free");
    if (!slot) return;
    // Capture phase: this runs before htmx opens the booking dialog.
    evt.preventDefault();
    evt.stopPropagation();
    var url = moving.url;
    stopMoving();
    move(url, slot);
  }, true);

  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape" && moving) stopMoving("Move cancelled.");
  });

  // The current-time line moves on by itself between refreshes. The server
  // said what the clinic's clock read (its zone, not the browser's); count
  // on from when this grid arrived.
  var arrived = Date.now();
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "calendar") arrived = Date.now();
  });
  function placeNow() {
    var grid = document.getElementById("calendar");
    var line = grid && grid.querySelector(".cal-now");
    if (!line) return;
    var minute = Number(grid.dataset.nowMinute) + Math.floor((Date.now() - arrived) / 60000);
    var row = Math.floor((minute - Number(grid.dataset.firstMinute)) / STEP_MINUTES) + 1;
    if (row < 1 || row > Number(grid.dataset.rows)) return;
    line.className = line.className.replace(/\br\d+\b/, "r" + row);
  }
  setInterval(placeNow, 60000);
})();

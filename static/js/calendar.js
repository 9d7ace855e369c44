/* The calendar: open the booking dialog from a free time and an appointment
 * from its block, one-click status buttons, moving appointments by drag and
 * drop or by keyboard ("Move", then a free time), and the current-time line.
 *
 * A busy day has hundreds of blocks and free times, so they carry only their
 * own data (id, time); provider and day are on their column, and the URLs to
 * post to are on #calendar (data-status-url, data-move-url, with 0 for the
 * id). Listeners sit on the document, so a re-rendered grid needs no wiring.
 *
 * Moves post provider, date and time to the move URL
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
  var moving = null; // the block whose keyboard move waits for a free time

  function status(text) {
    var el = document.getElementById("calendar-status");
    if (el) el.textContent = text;
  }

  function urlFor(kind, block) {
    return document.getElementById("calendar").dataset[kind + "Url"].replace("/0/", "/" + block.dataset.id + "/");
  }

  function label(block) {
    var name = block.querySelector("strong");
    return (name ? name.textContent : "the appointment") + " at " + block.dataset.time;
  }

  function move(block, target) {
    var column = target.closest(".cal-col");
    htmx.ajax("POST", urlFor("move", block), {
      source: document.body, swap: "none",
      values: { provider: column.dataset.provider, date: column.dataset.date, time: target.dataset.time },
    });
  }

  // Free times open the booking dialog, blocks open the appointment, in #modal.
  document.addEventListener("click", function (evt) {
    if (moving || evt.defaultPrevented || evt.button !== 0 || evt.ctrlKey || evt.metaKey || evt.shiftKey) return;
    var link = evt.target.closest && evt.target.closest("#calendar a.cal-free, #calendar a.cal-appt-main");
    if (link) {
      evt.preventDefault();
      htmx.ajax("GET", link.getAttribute("href"), { source: link, target: "#modal" });
      return;
    }
    var button = evt.target.closest && evt.target.closest("#calendar [data-status]");
    if (button) {
      htmx.ajax("POST", urlFor("status", button.closest(".cal-appt")), {
        source: button, swap: "none", values: { status: button.dataset.status },
      });
    }
  });

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
    evt.dataTransfer.setData("text/plain", label(block));
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
    move(dragged, target);
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
      moving = button.closest(".cal-appt");
      document.body.classList.add("calendar-moving");
      status("Moving " + label(moving) + ": choose a free time, or press Escape to keep it where it is.");
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
    var block = moving;
    stopMoving();
    move(block, slot);
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

// Modal handling for the dashboard (no framework, no build).
//
// A view answering an htmx request for a form returns a fragment whose root is
// <dialog class="modal">, swapped into #modal. Here we open it as a real modal
// dialog (focus trapped by the browser, Esc closes), put focus on its first
// field, and give focus back to whatever opened it when it closes. A save
// answers 204 with HX-Trigger "clinic:changed", which closes the modal and
// lets the page's tables refresh themselves.
(function () {
  "use strict";

  var opener = null;

  function container() { return document.getElementById("modal"); }

  function firstField(dialog) {
    return dialog.querySelector("[aria-invalid='true']")
      || dialog.querySelector("[autofocus]")
      || dialog.querySelector("input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])")
      || dialog.querySelector("button, [href], [tabindex]:not([tabindex='-1'])");
  }

  function openDialog(dialog) {
    // A swap inside an open dialog (the free times, the patient matches)
    // must not pull focus away from the field the user is working in.
    if (dialog.open) return;
    dialog.showModal();
    var field = firstField(dialog);
    if (field) field.focus();
  }

  function closeModal() {
    var dialog = container() && container().querySelector("dialog.modal");
    if (dialog && dialog.open) dialog.close();  // the "close" listener cleans up
  }

  // Remember who asked for the modal, unless the request came from inside it
  // (a re-rendered form keeps the original opener).
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var target = evt.detail.target;
    var box = container();
    if (box && target === box && !box.contains(evt.detail.elt)) {
      opener = evt.detail.elt;
    }
  });

  // After settle, not after swap: htmx wires up the new content's own
  // triggers (the patient search, the free times) while settling, and a
  // dialog shown before that would take keystrokes it cannot act on.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var box = container();
    if (!box || !(evt.detail.target === box || box.contains(evt.detail.target))) return;
    var dialog = box.querySelector("dialog.modal");
    if (dialog) openDialog(dialog);
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    // A form with errors answers 422 and must still be shown.
    if (evt.detail.xhr && evt.detail.xhr.status === 422) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
    // Whatever goes into #modal replaces its content, whole: a button inside
    // a self-refreshing table would otherwise inherit the table's hx-select
    // and hx-swap="outerHTML" and wipe out the container.
    if (evt.detail.target === container()) {
      evt.detail.swapOverride = "innerHTML";
      evt.detail.selectOverride = "unset";
    }
  });

  // Esc (native "cancel" then "close"), a Cancel button, or a save: clear the
  // container and hand focus back.
  document.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (!(dialog instanceof HTMLDialogElement) || !dialog.classList.contains("modal")) return;
    if (dialog.parentNode) dialog.parentNode.removeChild(dialog);
    var back = opener;
    opener = null;
    if (back && document.body.contains(back)) back.focus();
  }, true);

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-modal-close]");
    if (button) {
      evt.preventDefault();
      closeModal();
    }
  });

  // What a save did ("Ali Raza added."), said once in a polite live region.
  // A change that can be undone (a status, a move) brings an Undo button
  // that posts the way back the server sent; it stays while hovered or focused.
  var toastTimer = null;
  function hideToast() {
    var box = document.getElementById("toast");
    if (!box) return;
    box.classList.remove("show", "has-action", "error");
    box.textContent = "";
  }
  function armToast(ms) {
    clearTimeout(toastTimer);
    toastTimer = setTimeout(hideToast, ms);
  }
  function toast(message, undo, isError) {
    var box = document.getElementById("toast");
    if (!box || !message) return;
    box.textContent = message;
    box.classList.toggle("error", !!isError);
    box.classList.toggle("has-action", !!undo);
    if (undo && undo.url) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Undo";
      button.addEventListener("click", function () {
        hideToast();
        htmx.ajax("POST", undo.url, { values: undo.values || {}, swap: "none", source: document.body });
      });
      box.appendChild(button);
    }
    box.classList.add("show");
    armToast(undo ? 8000 : 5000);
  }
  document.addEventListener("mouseover", function (evt) {
    if (evt.target.closest && evt.target.closest("#toast.has-action")) clearTimeout(toastTimer);
  });
  document.addEventListener("focusin", function (evt) {
    if (evt.target.closest && evt.target.closest("#toast.has-action")) clearTimeout(toastTimer);
  });
  document.addEventListener("mouseout", function (evt) {
    if (evt.target.closest && evt.target.closest("#toast.has-action")) armToast(4000);
  });

  document.addEventListener("clinic:changed", function (evt) {
    // Events relayed from the WebSocket (another desk, the phone) carry no message.
    if (!evt.detail || typeof evt.detail.message !== "string") return;
    closeModal();
    toast(evt.detail.message, evt.detail.undo, false);
  });
  document.addEventListener("clinic:refused", function (evt) {
    if (evt.detail && typeof evt.detail.message === "string") toast(evt.detail.message, null, true);
  });

  // A free time offered as a button (after a refusal, or "Next free time
  // with anyone"): put its provider, date and time into the dialog's form
  // and reload the time picker with that time chosen. Booking still needs
  // the form's own button.
  document.addEventListener("click", function (evt) {
    var pick = evt.target.closest("[data-pick]");
    if (!pick) return;
    var form = pick.closest("form");
    var picker = form && form.querySelector("#slot-picker");
    if (!picker) return;
    form.elements.provider.value = pick.dataset.provider;
    form.elements.date.value = pick.dataset.date;
    var values = { provider: pick.dataset.provider, date: pick.dataset.date, time: pick.dataset.time };
    if (form.elements.appointment) values.appointment = form.elements.appointment.value;
    htmx.ajax("GET", picker.dataset.slotsUrl, { source: picker, target: picker, swap: "innerHTML", values: values })
      .then(function () {
        var select = picker.querySelector("select");
        if (select) select.focus();
      });
  });

  document.addEventListener("click", function (evt) {
    if (evt.target.closest("[data-print]")) window.print();
  });
  window.clinicCloseModal = closeModal;
})();

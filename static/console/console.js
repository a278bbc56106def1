/* Berth console behaviour shared by every page: copy buttons, the phone menu, the service form's
   focus and error display, the import source, the API key's URL. Plain JS; htmx does the requests. */
(function () {
  "use strict";
  if (window.berthConsole) return; // included once by base.html; never register listeners twice
  window.berthConsole = true;

  // --- copy buttons: <button data-copy="#selector"> -------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    });
  });

  // --- the phone menu: the button shows and hides the header's links ------------------------------
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-menu-toggle]");
    if (!toggle) return;
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.closest(".topbar").classList.toggle("menu-open", open);
  });

  // --- service form: focus the row just added ------------------------------------------------------
  var focusAfterSwap = null;
  var NEW_ROW_FIELD = {
    "add-env": "#service-form .env-row:last-of-type input",
    "add-storage": "#service-form fieldset.mount:last-of-type select",
  };
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#service-form button[name=op]");
    if (button && NEW_ROW_FIELD[button.value]) focusAfterSwap = NEW_ROW_FIELD[button.value];
  });

  // --- service form: errors for the fields the user touched (all of them after a save) ---------
  var touched = new Set();

  function markErrors() {
    var form = document.getElementById("service-form");
    if (!form) return;
    form.querySelectorAll(".field-errors").forEach(function (list) {
      var slot = list.id.replace(/^err-/, "");
      // A slot with no field of its own (e.g. "env": the list as a whole) is always shown.
      var shown = touched.has(slot) || !form.elements.namedItem(slot);
      list.classList.toggle("shown", shown);
    });
  }

  function touch(event) {
    var target = event.target;
    if (!target.form || target.form.id !== "service-form" || !target.name) return;
    if (!touched.has(target.name)) {
      touched.add(target.name);
      markErrors();
    }
  }
  document.addEventListener("change", touch);
  document.addEventListener("input", touch);
  document.addEventListener("focusout", function (event) {
    // Leaving a field counts as touching it only if something was typed or it was left empty on purpose.
    if (event.target.value !== undefined && event.target.value !== event.target.defaultValue) touch(event);
  });

  document.addEventListener("htmx:oobAfterSwap", markErrors);
  document.addEventListener("htmx:afterSettle", function (event) {
    markErrors();
    if (focusAfterSwap && event.detail.target && event.detail.target.id === "editor") {
      var field = document.querySelector(focusAfterSwap);
      focusAfterSwap = null;
      if (field) field.focus();
    }
  });

  // --- import: the most recent input wins --------------------------------------------------------
  document.addEventListener("input", function (event) {
    if (event.target.id !== "import_text") return;
    var file = event.target.form && event.target.form.elements.namedItem("import_file");
    if (file && file.value) file.value = ""; // pasting after choosing a file replaces the file
  });

  // --- pages answered by a POST that should show another URL (the new API key) -----------------
  function start() {
    document.querySelectorAll("[data-replace-url]").forEach(function (el) {
      history.replaceState(null, "", el.getAttribute("data-replace-url"));
    });
    markErrors();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

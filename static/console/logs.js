/* The logs page: open at the newest line, and stay there while following unless the reader has
   scrolled up to read something (then leave the view where it is). */
(function () {
  "use strict";
  if (window.berthLogs) return;
  window.berthLogs = true;

  var stuck = true; // whether the view follows the newest line

  function output() { return document.getElementById("log-text"); }

  function toBottom() {
    var pre = output();
    if (pre) pre.scrollTop = pre.scrollHeight;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var pre = output();
    if (!pre || event.detail.target.id !== "logs") return;
    // A refresh the reader asked for (new options) always lands at the newest line.
    var polled = event.detail.requestConfig && event.detail.requestConfig.elt === event.detail.target;
    stuck = !polled || pre.hidden || pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
  });

  // With outerHTML the swapped element is replaced, so look the new one up rather than trust the event.
  document.addEventListener("htmx:afterSettle", function () {
    if (stuck) toBottom();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", toBottom);
  else toBottom();
})();

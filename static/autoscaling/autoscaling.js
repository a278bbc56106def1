/* The Autoscaling panel's chart: instances and the driving metric per instance (uPlot, vendored). */
(function () {
  function draw() {
    var holder = document.querySelector("[data-autoscale-chart]");
    var script = document.getElementById("autoscale-chart-data");
    if (!holder || !script || typeof uPlot === "undefined" || holder.dataset.drawn) return;
    var chart = JSON.parse(script.textContent);
    if (!chart.at.length) { holder.insertAdjacentHTML("beforeend", '<p class="hint">No steps yet.</p>'); holder.dataset.drawn = "1"; return; }
    holder.dataset.drawn = "1";
    var opts = {
      width: Math.max(300, holder.clientWidth || 600), height: 200,
      series: [{}, {label: "instances", stroke: "#2563eb", scale: "n"},
               {label: (chart.metric || "metric") + " per instance (target " + chart.target + ")", stroke: "#dc2626"}],
      axes: [{}, {scale: "n", label: "instances"}, {side: 1, grid: {show: false}}],
      scales: {n: {range: function (u, lo, hi) { return [0, Math.max(1, hi + 1)]; }}},
    };
    new uPlot(opts, [chart.at, chart.instances, chart.value], holder);
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
  window.addEventListener("load", draw);
})();

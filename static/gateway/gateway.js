/* Berth gateway panels: copy buttons, the "try it" panel and the traffic charts (uPlot, vendored). */
(function () {
  "use strict";
  // Both gateway partials include this file, so a page can run it twice: register everything once,
  // or every "try it" click sends two requests. (Copy buttons live in static/console/console.js.)
  if (window.berthGateway) return;
  window.berthGateway = true;

  // --- try it: send a request through the gateway from the browser ----------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-gateway-try]");
    if (!form) return;
    event.preventDefault();
    var out = form.querySelector("[data-try-result]");
    var status = form.querySelector("[data-try-status]");
    var method = form.elements.method.value;
    var path = form.elements.path.value || "/";
    if (path.charAt(0) !== "/") path = "/" + path;
    var headers = {};
    if (form.elements.token.value) headers["Authorization"] = form.elements.token.value;
    var init = { method: method, headers: headers };
    if (method !== "GET" && method !== "HEAD") {
      headers["Content-Type"] = form.elements.content_type.value || "application/json";
      init.body = form.elements.body.value;
    }
    var started = performance.now();
    status.textContent = "sending…";
    out.textContent = "";
    fetch(form.getAttribute("data-endpoint") + path, init).then(function (response) {
      return response.text().then(function (text) {
        var ms = Math.round(performance.now() - started);
        status.textContent = response.status + " " + response.statusText + " · " + ms + " ms";
        status.className = response.ok ? "try-status ok" : "try-status bad";
        out.textContent = text;
      });
    }).catch(function (error) {
      status.textContent = "failed: " + error.message + " (is the gateway reachable from this browser?)";
      status.className = "try-status bad";
    });
  });

  // --- traffic charts ----------------------------------------------------------------------------
  var COLOURS = { "2xx": "#1a7f37", "3xx": "#0969da", "4xx": "#bf8700", "5xx": "#cf222e", "1xx": "#8250df", "other": "#57606a" };
  var PALETTE = ["#0969da", "#1a7f37", "#bf8700", "#cf222e", "#8250df", "#57606a", "#e16f24", "#1b7c83"];

  function epoch(iso) { return Date.parse(iso) / 1000; }

  function chart(el, title, series, data) {
    var width = Math.max(280, el.clientWidth || 480);
    var opts = {
      title: title, width: width, height: 180,
      // Always the last hour: with one or two samples uPlot's automatic range spans years.
      scales: { x: { time: true, range: function () { var now = Date.now() / 1000; return [now - 3600, now]; } } },
      series: [{}].concat(series),
      axes: [{}, { size: 60 }],
      legend: { live: false },
    };
    el.innerHTML = "";
    return new uPlot(opts, data, el);
  }

  function line(label, colour) { return { label: label, stroke: colour, width: 1.5, spanGaps: true }; }

  function perInstance(instances, pick) {
    // One column per instance over the union of timestamps.
    var names = Object.keys(instances);
    var stamps = {};
    names.forEach(function (n) { instances[n].series.forEach(function (p) { stamps[epoch(p.at)] = true; }); });
    var xs = Object.keys(stamps).map(Number).sort(function (a, b) { return a - b; });
    var columns = names.map(function (n) {
      var byTime = {};
      instances[n].series.forEach(function (p) { byTime[epoch(p.at)] = pick(p); });
      return xs.map(function (x) { return x in byTime ? byTime[x] : null; });
    });
    return { names: names, data: [xs].concat(columns) };
  }

  function render(root, body) {
    var s = body.series;
    var xs = s.map(function (p) { return epoch(p.at); });
    var totals = body.totals;
    root.querySelector("[data-total-requests]").textContent = totals.requests;
    root.querySelector("[data-total-2xx]").textContent = totals.responses["2xx"];
    root.querySelector("[data-total-4xx]").textContent = totals.responses["4xx"];
    root.querySelector("[data-total-5xx]").textContent = totals.responses["5xx"];
    root.querySelector("[data-total-latency]").textContent = totals.latency_avg_ms === null ? "–" : totals.latency_avg_ms.toFixed(1) + " ms";
    root.querySelector("[data-total-p95]").textContent = totals.latency_p95_ms_max === null ? "–" : totals.latency_p95_ms_max.toFixed(1) + " ms";
    root.setAttribute("data-requests", totals.requests);
    var charts = root._charts = root._charts || {};
    var classes = ["2xx", "3xx", "4xx", "5xx"];
    var specs = {
      qps: ["Requests per second by status", classes.map(function (c) { return line(c, COLOURS[c]); }),
        [xs].concat(classes.map(function (c) { return s.map(function (p) { return p.responses[c] / (p.seconds || 1); }); }))],
      latency: ["Latency (ms)", [line("avg", PALETTE[0]), line("p95", PALETTE[3]), line("p99", PALETTE[4])],
        [xs, s.map(function (p) { return p.latency_ms.avg; }), s.map(function (p) { return p.latency_ms.p95; }), s.map(function (p) { return p.latency_ms.p99; })]],
      bytes: ["Traffic (KB/s)", [line("in", PALETTE[0]), line("out", PALETTE[1])],
        [xs, s.map(function (p) { return p.bytes_in / 1024 / (p.seconds || 1); }), s.map(function (p) { return p.bytes_out / 1024 / (p.seconds || 1); })]],
      inflight: ["In flight", [line("requests", PALETTE[4])], [xs, s.map(function (p) { return p.in_flight; })]],
    };
    var cpu = perInstance(body.instances, function (p) { return p.cpu_percent; });
    var mem = perInstance(body.instances, function (p) { return p.memory_mb; });
    var iqps = perInstance(body.instances, function (p) { return p.qps; });
    var named = function (names) { return names.map(function (n, i) { return line(n, PALETTE[i % PALETTE.length]); }); };
    specs.instance_qps = ["Requests per second by instance", named(iqps.names), iqps.data];
    specs.cpu = ["CPU (% of one core) by instance", named(cpu.names), cpu.data];
    specs.memory = ["Memory (MB) by instance", named(mem.names), mem.data];
    Object.keys(specs).forEach(function (key) {
      var el = root.querySelector('[data-chart="' + key + '"]');
      if (!el) return;
      var spec = specs[key];
      var signature = spec[1].map(function (x) { return x.label; }).join("|");
      if (charts[key] && charts[key]._signature === signature) {
        charts[key].setData(spec[2]);
      } else {
        if (charts[key]) charts[key].destroy();
        charts[key] = chart(el, spec[0], spec[1], spec[2]);
        charts[key]._signature = signature;
      }
      el.setAttribute("data-points", spec[2][0].length);
    });
    root.querySelector("[data-traffic-empty]").hidden = s.length > 0;
  }

  function load(root) {
    fetch(root.getAttribute("data-metrics-url") + "?minutes=60", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) { render(root, body); root.setAttribute("data-loaded", "true"); })
      .catch(function (error) { root.querySelector("[data-traffic-error]").textContent = "metrics unavailable (" + error + ")"; });
  }

  function start() {
    document.querySelectorAll("[data-traffic]").forEach(function (root) {
      if (root._started) return;
      root._started = true;
      load(root);
      var every = Number(root.getAttribute("data-refresh-seconds") || 10) * 1000;
      setInterval(function () { if (!document.hidden) load(root); }, every);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:load", start);
})();

// The live log viewer: pause/resume polling, follow the bottom unless the reader scrolled up,
// keep the reading position when earlier lines are loaded above.
(function () {
  "use strict";
  let paused = false;
  let keepBottom = true;
  let heightBeforeEarlier = null;

  // While paused, the tail's polls are cancelled here (a trigger filter would need eval, which the CSP forbids).
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (paused && event.detail.elt && event.detail.elt.id === "log-tail") event.preventDefault();
  });

  function scroller() {
    return document.getElementById("log-scroller");
  }

  function nearBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  function following() {
    const box = document.getElementById("log-follow");
    return !box || box.checked;
  }

  function toBottom() {
    const box = scroller();
    if (box) box.scrollTop = box.scrollHeight;
  }

  document.addEventListener("scroll", function (event) {
    if (event.target && event.target.id === "log-scroller") keepBottom = nearBottom(event.target);
  }, true);

  document.addEventListener("click", function (event) {
    const button = event.target.closest("#log-pause");
    if (!button) return;
    paused = !paused;
    button.dataset.paused = String(paused);
    button.setAttribute("aria-pressed", String(paused));
    button.textContent = paused ? "▶ Resume" : "❚❚ Pause";
    if (window.dashboardAnnounce) window.dashboardAnnounce(paused ? "Live updates paused." : "Live updates resumed.");
    document.getElementById("log-viewer").classList.toggle("paused", paused);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    const box = scroller();
    if (!target || !box) return;
    if (target.id === "log-tail") keepBottom = nearBottom(box);
    if (target.id === "log-earlier") heightBeforeEarlier = box.scrollHeight;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    const box = scroller();
    if (!target || !box) return;
    if (target.id === "log-tail") {
      if (document.querySelector("#log-lines .log-row")) {
        document.querySelectorAll("#log-lines .log-empty").forEach((row) => row.remove());
      }
      if (keepBottom && following()) toBottom();
    } else if (target.id === "log-earlier" && heightBeforeEarlier !== null) {
      box.scrollTop += box.scrollHeight - heightBeforeEarlier;
      heightBeforeEarlier = null;
    } else if (target.id === "log-viewer") {
      paused = false;
      keepBottom = true;
      if (!toTarget()) toBottom();
    }
  });

  // The run ended: its status badge arrives with the last poll (the run header, rendered by the
  // server's status_badge); here the live controls go and the end is announced.
  document.addEventListener("logs:run-finished", function (event) {
    const status = (event.detail && event.detail.status) || "finished";
    document.querySelectorAll("#log-pause, .follow").forEach((el) => el.remove());
    if (window.dashboardAnnounce) window.dashboardAnnounce("The run " + status + ".");
  });

  // A line's permalink (logs/lines/<line>/) opens around it: bring that line into view instead of the end.
  function toTarget() {
    const target = document.querySelector("#log-lines .log-target");
    if (!target) return false;
    target.scrollIntoView({ block: "center" });
    keepBottom = false;
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!toTarget()) toBottom();
  });
})();

// The log volume histogram above the lines (drawn by charts.js from the counts kept at ingestion):
// bars stacked by severity; a click on a bar, or a drag across bars, narrows the viewer's time window
// by setting the filter form's `from` and `to` and submitting it (htmx swaps the viewer and pushes the
// address, so the window is in the URL).
(function () {
  "use strict";
  const charts = window.DashboardCharts;
  if (!charts) return;
  const COLOURS = { debug: "#475569", info: "#0e7490", warning: "#a16207", error: "#b91c1c", critical: "#7e22ce" };

  function label(ms, bucket) {
    const date = new Date(ms);
    const text = date.toISOString();
    return bucket >= 86400000 ? text.slice(0, 10) : text.slice(5, 16).replace("T", " ");
  }

  function narrow(canvas, starts, bucket, first, last) {
    const low = Math.min(first, last);
    const high = Math.max(first, last);
    const bounds = { from: String(starts[low]), to: String(starts[high] + bucket - 1) };
    if (canvas.dataset.narrowUrl) {
      // Outside the viewer (an experiment's page): the window goes into the page's own address.
      window.location.assign(canvas.dataset.narrowUrl + "?from=" + bounds.from + "&to=" + bounds.to);
      return;
    }
    const form = document.querySelector("#log-viewer form.log-filters");
    if (!form) return;
    Object.keys(bounds).forEach(function (name) {
      let input = form.querySelector("input[name='" + name + "']");
      if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        form.appendChild(input);
      }
      input.value = bounds[name];
    });
    form.requestSubmit();
  }

  charts.register("canvas[data-log-volume]", function (canvas, data) {
    if (!data) return null;
    const severities = Object.keys(data.severities);
    let dragFrom = null;
    function indexAt(chart, event) {
      const found = chart.getElementsAtEventForMode(event, "index", { intersect: false }, false);
      return found.length ? found[0].index : null;
    }
    canvas.addEventListener("mousedown", function (event) {
      const chart = Chart.getChart(canvas);
      dragFrom = chart ? indexAt(chart, event) : null;
    });
    canvas.addEventListener("mouseup", function (event) {
      const chart = Chart.getChart(canvas);
      const to = chart ? indexAt(chart, event) : null;
      if (dragFrom !== null && to !== null) narrow(canvas, data.starts, data.bucket_ms, dragFrom, to);
      dragFrom = null;
    });
    return {
      type: "bar",
      data: {
        labels: data.starts.map((ms) => label(ms, data.bucket_ms)),
        datasets: severities.map((severity) => ({
          label: severity,
          data: data.severities[severity],
          backgroundColor: COLOURS[severity] || charts.colour(0),
          stack: "lines",
        })),
      },
      options: {
        scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true } },
        plugins: { legend: { position: "right" } },
        datasets: { bar: { categoryPercentage: 1.0, barPercentage: 0.9 } },
      },
    };
  });
})();

// The saved-view and columns forms sit outside the viewer htmx swaps: on submit they take the filters
// the viewer shows now (the hidden copies rendered with the page may be older).
document.addEventListener("submit", function (event) {
  "use strict";
  const form = event.target;
  if (!form || (form.id !== "save-view-form" && form.id !== "columns-form")) return;
  const filters = document.querySelector("#log-viewer form.log-filters");
  if (!filters) return;
  ["severity", "component", "q", "regex", "where"].forEach(function (name) {
    form.querySelectorAll("input[type=hidden][name='" + name + "']").forEach((input) => input.remove());
    const source = filters.elements.namedItem(name);
    if (!source || (source.type === "checkbox" && !source.checked) || !source.value) return;
    const copy = document.createElement("input");
    copy.type = "hidden";
    copy.name = name;
    copy.value = source.value;
    form.appendChild(copy);
  });
});

// Cost overview chart: built from the json_script block, rebuilt after every htmx swap of the overview.
(function () {
  "use strict";
  var palette = ["#5b4bdb", "#16a34a", "#ea580c", "#0891b2", "#db2777", "#ca8a04", "#64748b", "#7c3aed", "#0d9488", "#dc2626"];
  var chart = null;

  // The site's one money format (the `money` template filter): two decimals from a cent up, more
  // only below a cent, a true minus sign.
  function dollars(micro) {
    var value = Math.abs(micro) / 1e6;
    var places = value === 0 || value >= 0.01 ? 2 : value >= 0.001 ? 4 : value >= 0.0001 ? 5 : 6;
    var text = "$" + value.toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
    return (micro < 0 ? "\u2212" : "") + text;
  }

  function barUrl(canvas, day, series) {
    var params = new URLSearchParams({ start: day, end: day });
    if (series && canvas.dataset.seriesBy === "tenant") {
      params.set("tenant", series);
    } else {
      if (series) { params.set("model", series); }
      if (canvas.dataset.tenant) { params.set("tenant", canvas.dataset.tenant); }
    }
    return canvas.dataset.executionsUrl + "?" + params.toString();
  }

  function draw() {
    var canvas = document.getElementById("cost-chart");
    var source = document.getElementById("cost-chart-data");
    if (chart) { chart.destroy(); chart = null; }
    if (!canvas || !source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, index) {
          return { label: series.label, data: series.data, backgroundColor: palette[index % palette.length], stack: "cost", borderWidth: 0 };
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 12 } },
          y: { stacked: true, ticks: { callback: function (value) { return dollars(value); } } }
        },
        // A click on a bar opens the executions behind it (the data table's links do the same without JavaScript).
        onClick: function (event, elements, clicked) {
          var hit = clicked.getElementsAtEventForMode(event, "nearest", { intersect: true }, true)[0];
          if (hit) {
            window.location.assign(barUrl(canvas, data.labels[hit.index], data.series[hit.datasetIndex].label));
          } else if (elements.length) {
            window.location.assign(barUrl(canvas, data.labels[elements[0].index], null));
          }
        },
        onHover: function (event, elements) { canvas.style.cursor = elements.length ? "pointer" : "default"; },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: function (item) { return item.dataset.label + ": " + dollars(item.raw); } } }
        }
      }
    });
    canvas.dataset.points = String(data.labels.length);
    canvas.dataset.total = String(data.series.reduce(function (sum, s) { return sum + s.data.reduce(function (a, b) { return a + b; }, 0); }, 0));
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && (event.target.id === "overview-body" || document.getElementById("overview-body"))) { draw(); }
  });
  document.addEventListener("htmx:historyRestore", draw);
  window.addEventListener("popstate", function () { setTimeout(draw, 0); });
})();

// The cost overview chart (drawn and redrawn by charts.js): the daily cost, one stacked bar per
// model or tenant, figures from the json_script block the canvas names.
(function () {
  "use strict";
  const charts = window.DashboardCharts;

  function barUrl(canvas, day, series) {
    const params = new URLSearchParams({ start: day, end: day });
    if (series && canvas.dataset.seriesBy === "tenant") {
      params.set("tenant", series);
    } else {
      if (series) params.set("model", series);
      if (canvas.dataset.tenant) params.set("tenant", canvas.dataset.tenant);
    }
    return canvas.dataset.executionsUrl + "?" + params.toString();
  }

  function sum(values) {
    return values.reduce((total, value) => total + value, 0);
  }

  charts.register("#cost-chart", function (canvas, data) {
    if (!data) return null;
    canvas.dataset.points = String(data.labels.length);
    canvas.dataset.total = String(sum(data.series.map((series) => sum(series.data))));
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map((series, index) => ({
          label: series.label, data: series.data, backgroundColor: charts.colour(index), stack: "cost", borderWidth: 0,
        })),
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 12 } },
          y: { stacked: true, ticks: { callback: (value) => charts.money(value) } },
        },
        // A click on a bar opens the executions behind it (the data table's links do the same without JavaScript).
        onClick: function (event, elements, chart) {
          const hit = chart.getElementsAtEventForMode(event, "nearest", { intersect: true }, true)[0];
          if (hit) {
            window.location.assign(barUrl(canvas, data.labels[hit.index], data.series[hit.datasetIndex].label));
          } else if (elements.length) {
            window.location.assign(barUrl(canvas, data.labels[elements[0].index], null));
          }
        },
        onHover: (event, elements) => { canvas.style.cursor = elements.length ? "pointer" : "default"; },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (item) => item.dataset.label + ": " + charts.money(item.raw) } },
        },
      },
    };
  });

  // The person page: one end user's daily cost, runs and failures in the tooltip; a bar opens that
  // day's executions of the person (the table below has the same figures and links).
  charts.register("#person-chart", function (canvas, data) {
    if (!data) return null;
    canvas.dataset.points = String(data.labels.length);
    canvas.dataset.total = String(sum(data.cost));
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: "Cost", data: data.cost, backgroundColor: charts.colour(0), borderWidth: 0 }],
      },
      options: {
        scales: {
          x: { grid: { display: false }, ticks: { maxTicksLimit: 12 } },
          y: { ticks: { callback: (value) => charts.money(value) } },
        },
        onClick: function (event, elements) {
          if (!elements.length) return;
          const day = data.labels[elements[0].index];
          const params = new URLSearchParams({ user: canvas.dataset.user, start: day, end: day });
          if (canvas.dataset.tenant) params.set("tenant", canvas.dataset.tenant);
          window.location.assign(canvas.dataset.executionsUrl + "?" + params.toString());
        },
        onHover: (event, elements) => { canvas.style.cursor = elements.length ? "pointer" : "default"; },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (item) => charts.money(item.raw) + " · " + data.runs[item.dataIndex] + " runs, "
                + data.failures[item.dataIndex] + " failed",
            },
          },
        },
      },
    };
  });
})();

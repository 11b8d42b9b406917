// Metric curves of an experiment's runs (the experiment page and the compare page), drawn and
// redrawn by charts.js: one line per run, x = training step.
(function () {
  "use strict";
  const charts = window.DashboardCharts;

  charts.register("canvas[data-run-curves]", function (canvas, data) {
    const series = data || [];
    canvas.dataset.drawn = String(series.length);
    return {
      type: "line",
      data: {
        datasets: series.map((run, index) => ({
          label: run.label,
          data: run.points.map((point) => ({ x: point[0], y: point[1] })),
          borderColor: charts.colour(index),
          backgroundColor: charts.colour(index),
          pointRadius: run.points.length > 60 ? 0 : 3,
          tension: 0.2,
        })),
      },
      options: {
        parsing: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "step" } },
          y: { title: { display: true, text: canvas.dataset.metric } },
        },
      },
    };
  });
})();

// The metric chart of a model's detail page, drawn and redrawn by charts.js: one point per version.
(function () {
  "use strict";
  const charts = window.DashboardCharts;

  charts.register("#metric-chart", function (canvas, data) {
    const series = data || [];
    canvas.dataset.drawn = String(series.length);
    return {
      type: "line",
      data: {
        labels: series.map((point) => point.version),
        datasets: [{
          label: canvas.dataset.metric,
          data: series.map((point) => point.value),
          borderColor: charts.colour(0),
          backgroundColor: charts.tint(0, 0.12),
          fill: true,
          tension: 0.25,
          pointRadius: 4,
        }],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: "version" } }, y: { title: { display: true, text: canvas.dataset.metric } } },
      },
    };
  });
})();

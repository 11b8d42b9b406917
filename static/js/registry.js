// The metric chart of a model's detail page: Chart.js fed by the json_script block beside the canvas.
(function () {
  let chart = null;

  function draw() {
    const canvas = document.getElementById("metric-chart");
    if (!canvas || typeof Chart === "undefined") return;
    const source = document.getElementById(canvas.dataset.series);
    const series = source ? JSON.parse(source.textContent) : [];
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: series.map((point) => point.version),
        datasets: [{
          label: canvas.dataset.metric,
          data: series.map((point) => point.value),
          borderColor: "#5b4bdb",
          backgroundColor: "rgba(91, 75, 219, .12)",
          fill: true,
          tension: 0.25,
          pointRadius: 4,
        }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: "version" } }, y: { title: { display: true, text: canvas.dataset.metric } } },
      },
    });
    canvas.dataset.drawn = String(series.length);
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target && event.target.id === "chart") draw();
  });
})();

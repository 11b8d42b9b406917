// Metric curves of an experiment's runs (the experiment page and the compare page): Chart.js fed by
// the json_script block beside each canvas, one line per run, x = training step.
(function () {
  const charts = {};
  const colours = ["#5b4bdb", "#d9480f", "#2b8a3e", "#1971c2", "#c2255c", "#e67700", "#0c8599", "#5c940d"];

  function draw(canvas) {
    if (typeof Chart === "undefined") return;
    const source = document.getElementById(canvas.dataset.series);
    const series = source ? JSON.parse(source.textContent) : [];
    if (charts[canvas.id]) charts[canvas.id].destroy();
    charts[canvas.id] = new Chart(canvas, {
      type: "line",
      data: {
        datasets: series.map((run, index) => ({
          label: run.label,
          data: run.points.map((point) => ({ x: point[0], y: point[1] })),
          borderColor: colours[index % colours.length],
          backgroundColor: colours[index % colours.length],
          pointRadius: run.points.length > 60 ? 0 : 3,
          tension: 0.2,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "step" } },
          y: { title: { display: true, text: canvas.dataset.metric } },
        },
      },
    });
    canvas.dataset.drawn = String(series.length);
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-run-curves]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSettle", drawAll);
})();

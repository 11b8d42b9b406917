// The site's one Chart.js set-up, loaded (after Chart.js) by every page that charts, through
// templates/partials/chart_scripts.html. It gives the page scripts (analytics.js, experiments.js,
// registry.js) everything they share:
// - one palette: ten colours, each at least 4.5:1 against the white card (WCAG 1.4.11 asks 3:1);
// - one way to read the figures the server embeds: <canvas data-chart-data="ID"> names the
//   json_script block beside it;
// - one draw: DashboardCharts.register(selector, build) draws every matching canvas with the Chart.js
//   configuration `build(canvas, data)` returns (null: nothing to draw), on the site's defaults (no
//   animation, the size of its .chart-box);
// - one redraw: after every htmx swap (history restores included), each registered canvas with no chart
//   yet (a new element the swap brought) is drawn, and charts whose canvas left the page are destroyed;
// - one money format (DashboardCharts.money), the server's `money` filter (dashboard/core/money.py).
(function () {
  "use strict";
  const PALETTE = ["#5b4bdb", "#15803d", "#c2410c", "#0e7490", "#be185d", "#a16207", "#475569", "#7e22ce", "#0f766e", "#b91c1c"];
  const MINUS = "\u2212"; // a true minus sign, not a hyphen
  const kinds = []; // {selector, build}
  const drawn = new Set(); // the charts on the page

  function colour(index) {
    return PALETTE[index % PALETTE.length];
  }

  // A palette colour at the given opacity (an area under a line).
  function tint(index, alpha) {
    const hex = colour(index);
    const channels = [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
    return "rgba(" + channels.join(", ") + ", " + alpha + ")";
  }

  // Integer micro-USD as the server writes money: two decimals from a cent up ($1,234.57, $0.50),
  // below a cent two significant digits ($0.0075, $0.00012), always rounded half up in whole-number
  // arithmetic, as the server's Decimal; a true minus sign before the dollar sign (−$2.00).
  function money(amount) {
    const micro = Math.trunc(Number(amount)); // the server's int(amount)
    if (!Number.isFinite(micro)) return "\u2014";
    const sign = micro < 0 ? MINUS : "";
    const size = Math.abs(micro);
    let text;
    if (size === 0 || size >= 10000) {
      const cents = Math.floor((size + 5000) / 10000); // whole cents, half up, as the server
      const whole = String(Math.floor(cents / 100));
      text = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + String(cents % 100).padStart(2, "0");
    } else {
      const places = size >= 1000 ? 4 : size >= 100 ? 5 : 6;
      const step = 10 ** (6 - places); // micro-USD in the last decimal shown
      const units = Math.floor((size + step / 2) / step);
      text = "0." + String(units).padStart(places, "0");
    }
    return sign + "$" + text;
  }

  // The figures of the json_script block a canvas names (null when it has none).
  function dataOf(canvas) {
    const source = canvas.dataset.chartData && document.getElementById(canvas.dataset.chartData);
    return source ? JSON.parse(source.textContent) : null;
  }

  function draw(canvas, build) {
    const config = build(canvas, dataOf(canvas));
    if (!config) return; // nothing to draw (no figures)
    config.options = Object.assign({ animation: false, maintainAspectRatio: false }, config.options);
    drawn.add(new Chart(canvas, config));
  }

  // Draws the registered canvases that have no chart yet; forgets the charts whose canvas a swap removed.
  function drawNew() {
    if (typeof Chart === "undefined") return;
    drawn.forEach((chart) => {
      if (!chart.canvas || !chart.canvas.isConnected) {
        chart.destroy();
        drawn.delete(chart);
      }
    });
    kinds.forEach((kind) => {
      document.querySelectorAll(kind.selector).forEach((canvas) => {
        if (!Chart.getChart(canvas)) draw(canvas, kind.build);
      });
    });
  }

  function register(selector, build) {
    kinds.push({ selector: selector, build: build });
    if (document.readyState !== "loading") drawNew();
  }

  document.addEventListener("DOMContentLoaded", drawNew);
  // htmx settles every swap, and history restores too (from its cache or, on a miss, the server).
  document.addEventListener("htmx:afterSettle", drawNew);

  window.DashboardCharts = { colour: colour, tint: tint, money: money, register: register };
})();

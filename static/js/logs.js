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

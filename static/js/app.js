// Site-wide behaviour, loaded on every page from <head> (no inline handlers: the CSP allows no inline script).
// - the phone menu button
// - forms that apply their filters on change (data-apply-on-change), keyboard-safe
// - confirmations (data-confirm on a form); canned reasons (data-fills on a select)
// - groups of fields for one choice (data-show-for on a form, data-when on the groups)
// - after each htmx swap: keep focus on the control or move it to the new content, and announce the result
(function () {
  "use strict";
  // Lets the CSS fold the phone menu only when this script runs; without it the menu stays open.
  document.documentElement.classList.add("js");

  // --- the phone menu ----------------------------------------------------------------------------
  function setMenu(open) {
    const sidebar = document.getElementById("sidebar");
    const button = sidebar && sidebar.querySelector(".menu-toggle");
    if (!button) return;
    sidebar.classList.toggle("menu-open", open);
    button.setAttribute("aria-expanded", String(open));
  }

  document.addEventListener("DOMContentLoaded", function () {
    const button = document.querySelector(".menu-toggle");
    if (button) {
      button.hidden = false;
      setMenu(false);
    }
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest(".menu-toggle");
    if (button) setMenu(button.getAttribute("aria-expanded") !== "true");
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const sidebar = document.getElementById("sidebar");
    if (sidebar && sidebar.classList.contains("menu-open") && sidebar.contains(document.activeElement)) {
      setMenu(false);
      sidebar.querySelector(".menu-toggle").focus();
    }
  });

  // --- filters that apply on change ----------------------------------------------------------------
  // Pattern: every such form has a visible submit button ("Apply", "Switch"…) and works without
  // JavaScript. A value picked with the pointer (or committed with Enter) applies at once; a value
  // changed with the arrow keys or type-ahead on a closed <select>, or typed into a date field, does
  // not — Chromium fires `change` on every arrow press — and waits for Enter or the button
  // (WCAG 3.2.2 On Input; the "explicit submit" technique G80 with pointer convenience on top).
  const STEP_KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"];
  let keyboardChanged = null; // the control whose value the keyboard is stepping through

  function applyForm(control) {
    return control.form && control.form.hasAttribute("data-apply-on-change") && !control.hasAttribute("data-no-apply");
  }

  function submit(form) {
    form.classList.remove("apply-pending");
    if (form.requestSubmit) form.requestSubmit();
    else form.submit();
  }

  document.addEventListener("keydown", function (event) {
    const control = event.target;
    if (!control.form || !applyForm(control)) return;
    const steps = control.tagName === "SELECT" || control.type === "date" || control.type === "month";
    if (!steps) return;
    if (event.key === "Enter") {
      if (control.tagName === "SELECT") {
        event.preventDefault();
        keyboardChanged = null;
        submit(control.form);
      }
      return; // date fields submit on Enter by themselves
    }
    if (event.altKey || event.key === " " || event.key === "F4") {
      keyboardChanged = null; // opening the option list: the pick inside it is a deliberate choice
    } else if (STEP_KEYS.includes(event.key) || (event.key.length === 1 && !event.ctrlKey && !event.metaKey)) {
      keyboardChanged = control;
    }
  }, true);

  document.addEventListener("pointerdown", function () { keyboardChanged = null; }, true);

  document.addEventListener("change", function (event) {
    const control = event.target;
    if (!control.form || !applyForm(control)) return;
    if (keyboardChanged === control) {
      control.form.classList.add("apply-pending"); // the Apply button is highlighted until pressed
      return;
    }
    submit(control.form);
  });

  // --- search as you type ------------------------------------------------------------------------
  // A field with data-live-search asks its form for results 500 ms after the last keystroke that
  // changed it (the form listens for `live-search`); Enter or the button submits at once and
  // cancels the pending update, so one search answers, not two. (Done here rather than with an
  // htmx trigger filter, which would need eval.)
  function lastSearched(input) {
    return input.dataset.searched !== undefined ? input.dataset.searched : input.defaultValue;
  }

  document.addEventListener("keyup", function (event) {
    const input = event.target;
    if (!input.matches || !input.matches("[data-live-search]") || event.key === "Enter") return;
    window.clearTimeout(input.liveSearchTimer);
    if (input.value === lastSearched(input)) return;
    input.liveSearchTimer = window.setTimeout(function () {
      input.dataset.searched = input.value;
      if (window.htmx) window.htmx.trigger(input.form, "live-search");
    }, 500);
  });

  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll("[data-live-search]").forEach(function (input) {
      window.clearTimeout(input.liveSearchTimer);
      input.dataset.searched = input.value;
    });
  }, true);

  // --- canned text: a <select data-fills="id"> puts its choice into that field, to edit there ------
  document.addEventListener("change", function (event) {
    const select = event.target;
    const target = select.dataset && select.dataset.fills && document.getElementById(select.dataset.fills);
    if (target && select.value) target.value = select.value;
  });

  // --- confirmations -------------------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // --- htmx: focus and announcements ---------------------------------------------------------------
  function announce(text) {
    const region = document.getElementById("live-status");
    if (!region || !text) return;
    region.textContent = "";
    // A fresh text node after a tick is read even when the message repeats.
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function same(candidate, before) {
    if (before.href && candidate.getAttribute("href") === before.href) return true;
    if (before.name && candidate.getAttribute("name") === before.name && candidate.value === before.value) return true;
    return Boolean(before.text) && candidate.textContent.trim() === before.text;
  }

  let pending = null; // what had focus inside the region being replaced

  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    const active = document.activeElement;
    pending = null;
    if (!target || !target.id) return;
    pending = { id: target.id, user: Boolean(event.detail.requestConfig && event.detail.requestConfig.triggeringEvent) };
    if (active && active !== document.body && target.contains(active)) {
      pending.focus = {
        toContent: active.hasAttribute("data-focus-content"),
        tag: active.tagName,
        href: active.getAttribute("href"),
        name: active.getAttribute("name"),
        value: active.value,
        text: active.textContent.trim(),
      };
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    const before = pending;
    pending = null;
    if (!before) return;
    const content = document.getElementById(before.id);
    if (!content) return;
    const lost = !document.activeElement || document.activeElement === document.body || !document.activeElement.isConnected;
    if (before.focus && lost) {
      let next = null;
      if (!before.focus.toContent) {
        next = Array.from(content.querySelectorAll(before.focus.tag)).find(function (el) { return same(el, before.focus); }) || null;
      }
      if (!next) {
        next = content;
        if (!next.hasAttribute("tabindex")) next.setAttribute("tabindex", "-1");
      }
      next.focus();
    }
    if (before.user) {
      const source = content.matches("[data-announce]") ? content : content.querySelector("[data-announce]");
      if (source) announce(source.getAttribute("data-announce"));
    }
  });

  // --- groups of fields for one choice ------------------------------------------------------------
  // <form data-show-for="kind"> shows only the elements whose data-when lists the chosen value of its
  // `kind` field. Without this script every group shows, each saying which choice it is for.
  function showChosen(form) {
    const control = form.elements[form.getAttribute("data-show-for")];
    if (!control) { return; }
    form.querySelectorAll("[data-when]").forEach(function (group) {
      group.hidden = group.getAttribute("data-when").split(" ").indexOf(control.value) < 0;
    });
  }
  function showAllChosen(root) {
    root.querySelectorAll("form[data-show-for]").forEach(showChosen);
  }
  document.addEventListener("DOMContentLoaded", function () { showAllChosen(document); });
  document.addEventListener("htmx:afterSettle", function (event) { showAllChosen(event.target); });
  document.addEventListener("change", function (event) {
    const form = event.target.form;
    if (form && form.hasAttribute("data-show-for") && event.target.name === form.getAttribute("data-show-for")) {
      showChosen(form);
    }
  });

  window.dashboardAnnounce = announce; // for page scripts (the log viewer announces a run's end)
})();

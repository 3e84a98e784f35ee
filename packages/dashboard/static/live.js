/* global document, window, CSS, fetch, setTimeout -- a browser script */
// Live updates of the dashboard's task list and task page, as a progressive enhancement: the
// pages work without this script (reload to refresh). Every few seconds it fetches the content
// of the page's [data-live] element from its URL (the list's rows for the same filters and
// page, or the task page's body) and swaps it in when it changed, keeping the rows the user
// has checked and the focus. Hand-written (about fifty lines) rather
// than htmx or similar: those would need inline styles or an eval-like setup that the
// dashboard's Content-Security-Policy forbids, and a dependency for one small job.
(function () {
  'use strict';
  var body = document.querySelector('[data-live]');
  if (!body || !window.fetch) return;
  var url = body.getAttribute('data-live');
  var interval = Number(body.getAttribute('data-live-interval')) || 3000;
  var status = document.querySelector('[data-live-status]');
  var last = null;

  function say(text) {
    if (status) status.textContent = text;
  }

  // What identifies a focusable element across a refresh: a checkbox by its value, a row
  // action by its form's action URL.
  function keyOf(element) {
    if (!element || !body.contains(element)) return null;
    if (element.name === 'id') return 'input[name="id"][value="' + CSS.escape(element.value) + '"]';
    var form = element.closest('form');
    return form ? 'form[action="' + CSS.escape(form.getAttribute('action')) + '"] button' : null;
  }

  function swap(html) {
    var checked = {};
    body.querySelectorAll('input[name="id"]:checked').forEach(function (input) {
      checked[input.value] = true;
    });
    var focus = keyOf(document.activeElement);
    var template = document.createElement('template');
    template.innerHTML = html;
    template.content.querySelectorAll('input[name="id"]').forEach(function (input) {
      input.checked = checked[input.value] === true;
    });
    body.replaceChildren(template.content);
    if (focus) {
      var again = body.querySelector(focus);
      if (again) again.focus();
    }
  }

  function refresh() {
    if (document.hidden) return schedule();
    fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'text/html' } })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html !== last) swap(html);
        last = html;
        say('Live · updated ' + new Date().toLocaleTimeString());
      })
      .catch(function (error) {
        say('Live updates paused (' + error.message + '); retrying');
      })
      .then(schedule);
  }

  function schedule() {
    setTimeout(refresh, interval);
  }

  say('Live');
  refresh();
})();

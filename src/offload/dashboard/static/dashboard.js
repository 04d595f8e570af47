/* offload dashboard: live updates over the SSE streams, local times, selections.
 *
 * Pages are rendered on the server; this script only keeps them current. Progress,
 * states and messages are written straight into the page from the events; anything
 * else that changed (new jobs, counts, details) is fetched again as the page's live
 * part (?fragment=1) and swapped in. After a reconnect the live part is fetched too,
 * so nothing missed while the stream was down stays missing. Text from job data is
 * only ever set with textContent.
 */
(function () {
  "use strict";

  var body = document.body;
  var page = body.getAttribute("data-page");
  var FINAL = { completed: true, failed: true, cancelled: true };
  var TYPES = ["state", "status", "progress", "message"];

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function by(name, value) { return "[" + name + '="' + CSS.escape(String(value)) + '"]'; }
  function fmt(n) {
    n = Number(n);
    return Number.isInteger(n) ? n.toLocaleString() : Number(n.toFixed(2)).toLocaleString();
  }

  // -- times ------------------------------------------------------------------------

  function relative(ms) {
    var s = Math.round(Math.abs(ms) / 1000), text;
    if (s < 1) return "just now";
    if (s < 60) text = s + " s";
    else if (s < 3600) text = Math.floor(s / 60) + " min";
    else if (s < 172800) text = Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    else text = Math.floor(s / 86400) + " d";
    return ms < 0 ? text + " ago" : "in " + text;
  }

  function localize(root) {
    var today = new Date().toDateString();
    $all("time[datetime]", root).forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      el.title = d.toLocaleString();
      if (el.hasAttribute("data-rel")) el.textContent = relative(d.getTime() - Date.now());
      else el.textContent = d.toDateString() === today ? d.toLocaleTimeString() : d.toLocaleString();
    });
  }
  localize(document);
  setInterval(function () { localize(document); }, 10000);

  // A reload after an action should not say it again.
  if (/[?&](done|refused)=/.test(location.search)) {
    var q = new URLSearchParams(location.search);
    ["done", "refused", "n", "skipped", "name", "job"].forEach(function (k) { q.delete(k); });
    var rest = q.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }

  // -- sign-in by link: /sign-in#token=... (a fragment never reaches a server or a log)

  if (page === "sign-in") {
    var m = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
    var field = $("#token");
    if (m && field) {
      history.replaceState(null, "", location.pathname + location.search);
      field.value = decodeURIComponent(m[1]);
      $("#sign-in").submit();
    } else if (field) {
      field.focus();
    }
    return;
  }

  // Filters fold away on a phone unless some are set.
  var filterBox = $(".filter-box");
  if (filterBox && window.matchMedia("(max-width: 700px)").matches && !/[?&](status|queue|task|owner)=/.test(location.search)) {
    filterBox.open = false;
  }

  // -- confirmations and selections ---------------------------------------------------

  document.addEventListener("submit", function (e) {
    var button = e.submitter;
    var ask = (button && button.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) e.preventDefault();
  });

  function boxes() { return $all('input[name="ids"]'); }

  function updateSelection() {
    var all = boxes(), n = all.filter(function (b) { return b.checked; }).length;
    $all("[data-needs-selection]").forEach(function (b) { b.disabled = n === 0; });
    var label = $("#selection");
    if (label) label.textContent = n ? n + " selected" : "Select jobs to act on them";
    var head = $("#select-all");
    if (head) {
      head.checked = n > 0 && n === all.length;
      head.indeterminate = n > 0 && n < all.length;
    }
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.id === "select-all") boxes().forEach(function (b) { b.checked = t.checked; });
    if (t.id === "select-all" || t.name === "ids") updateSelection();
  });
  updateSelection();

  // -- connection state -----------------------------------------------------------------

  var conn = $("#conn");
  function setConn(state, text) {
    if (!conn) return;
    conn.setAttribute("data-state", state);
    $(".conn-text", conn).textContent = text;
  }

  function signedOut() {
    var banner = $("#signed-out");
    if (banner) banner.hidden = false;
    setConn("offline", "Signed out");
  }

  var fragmentUrl = body.getAttribute("data-fragment");
  var signIn = body.getAttribute("data-sign-in");

  function fetchLive() {
    return fetch(fragmentUrl, { headers: { Accept: "text/html" }, credentials: "same-origin" }).then(function (res) {
      if (res.status === 401 || (signIn && res.redirected && res.url.indexOf(signIn) === 0)) {
        signedOut();
        throw new Error("signed out");
      }
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.text();
    });
  }

  // -- swapping in the live part ----------------------------------------------------

  function keyOf(el) {
    if (el.id) return "#" + CSS.escape(el.id);
    if (el.name) return el.tagName.toLowerCase() + by("name", el.name) + (el.value ? by("value", el.value) : "");
    if (el.getAttribute("href")) return "a" + by("href", el.getAttribute("href"));
    return null;
  }

  function swap(html) {
    var region = $("#live");
    if (!region) return;
    var checked = {};
    boxes().forEach(function (b) { if (b.checked) checked[b.value] = true; });
    var active = document.activeElement;
    var focusKey = active && region.contains(active) ? keyOf(active) : null;
    var scrolls = {};
    $all("[id]", region).forEach(function (el) { if (el.scrollTop) scrolls[el.id] = el.scrollTop; });
    region.innerHTML = html;
    boxes().forEach(function (b) { if (checked[b.value]) b.checked = true; });
    Object.keys(scrolls).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.scrollTop = scrolls[id];
    });
    if (focusKey) {
      var again = $(focusKey, region);
      if (again) again.focus({ preventScroll: true });
    }
    localize(region);
    updateSelection();
    stickToEnd();
  }

  // At most one fetch at a time and one per `gap` ms; a request during a fetch or a
  // gap is kept and made afterwards, so the last change is always shown.
  function refresher(gap) {
    var busy = false, again = false, last = 0, timer = null;
    function run() {
      if (busy) { again = true; return; }
      var wait = last + gap - Date.now();
      if (wait > 0) {
        if (!timer) timer = setTimeout(function () { timer = null; run(); }, wait);
        return;
      }
      busy = true;
      last = Date.now();
      fetchLive().then(swap, function () {}).then(function () {
        busy = false;
        if (again) { again = false; run(); }
      });
    }
    return run;
  }

  // -- streams --------------------------------------------------------------------------

  // One job's stream (`resume`) lets EventSource reconnect by itself after a network
  // error, sending Last-Event-ID: it resumes after the last event it had. An HTTP error
  // (a proxy's 502 while the server restarts, a 401) ends an EventSource for good, so
  // then a new one is opened, backing off, with ?last_event_id=. The all-events streams
  // never resume (after a night's sleep that could be millions of events): they start
  // again from now, and the page re-renders its live part instead.
  function stream(url, onEvent, options) {
    var es = null, last = "", closed = false, down = false, delay = 1000;
    function open() {
      var u = url;
      if (options.resume && last) u += (u.indexOf("?") < 0 ? "?" : "&") + "last_event_id=" + encodeURIComponent(last);
      es = new EventSource(u);
      es.onopen = function () {
        setConn("live", "Live");
        delay = 1000;
        if (down) {
          down = false;
          if (options.reconnected) options.reconnected();
        }
      };
      es.onerror = function () {
        if (closed) return;
        down = true;
        setConn("reconnecting", "Reconnecting…");
        if (!options.resume || es.readyState === EventSource.CLOSED) {
          es.close();
          es = null;
          fetchLive().then(null, function () {});  // notices a session that ended
          setTimeout(function () { if (!closed) open(); }, delay);
          delay = Math.min(delay * 2, 30000);
        }
      };
      TYPES.forEach(function (type) {
        es.addEventListener(type, function (e) {
          if (e.lastEventId) last = e.lastEventId;
          var item;
          try { item = JSON.parse(e.data); } catch (err) { return; }
          onEvent(type, item);
        });
      });
    }
    open();
    return {
      close: function () {
        closed = true;
        if (es) es.close();
      }
    };
  }

  // -- what events change on a page ---------------------------------------------------

  function setProgress(id, d) {
    var pct = Math.max(0, Math.min(100, Number(d.progress) || 0));
    var p = Number(pct.toFixed(2));
    var counts = d.total ? fmt(d.current) + " of " + fmt(d.total) : "";
    $all(by("data-progress", id)).forEach(function (el) {
      el.setAttribute("aria-valuenow", String(p));
      el.setAttribute("aria-valuetext", p + "%" + (counts ? " (" + counts + ")" : ""));
      var fill = $(".fill", el);
      if (fill) fill.setAttribute("width", String(p));
    });
    $all(by("data-pct", id)).forEach(function (el) {
      el.textContent = (el.classList.contains("big") ? p : Math.round(p)) + "%";
    });
    $all(by("data-count", id)).forEach(function (el) { el.textContent = counts; });
    if (d.message !== undefined && d.message !== null) {
      $all(by("data-message", id)).forEach(function (el) { el.textContent = d.message; });
    }
  }

  function setStatus(id, status, attempts) {
    $all(by("data-status", id)).forEach(function (el) {
      el.className = el.className.replace(/\bst-\S+/, "st-" + status);
      el.textContent = status;
    });
    if (attempts !== undefined && attempts !== null) {
      $all(by("data-attempts", id)).forEach(function (el) {
        el.textContent = el.textContent.replace(/^\d+/, String(attempts));
      });
    }
    $all("[data-allowed]").forEach(function (b) {
      b.disabled = b.getAttribute("data-allowed").split(" ").indexOf(status) < 0;
    });
  }

  // Keeps the message log scrolled to its end while the reader is there.
  var log = null, atEnd = true;
  function stickToEnd() {
    log = $("#messages");
    if (!log) return;
    if (atEnd) log.scrollTop = log.scrollHeight;
    log.onscroll = function () { atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 8; };
  }

  function messageItem(m) {
    var li = document.createElement("li");
    var t = document.createElement("time");
    t.setAttribute("datetime", m.timestamp || "");
    var span = document.createElement("span");
    span.className = "msg";
    span.textContent = m.message;
    li.appendChild(t);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(span);
    return li;
  }

  function showMessages(list, fresh) {
    if (!log) return;
    list.forEach(function (m) {
      var li = messageItem(m);
      if (fresh) li.className = "fresh";
      log.appendChild(li);
    });
    while (log.children.length > 1000) log.removeChild(log.firstChild);
    localize(log);
    var none = $("#no-messages");
    if (none) none.hidden = log.children.length > 0;
    var count = $("[data-message-count]");
    if (count) count.textContent = String(log.children.length);
    if (atEnd) log.scrollTop = log.scrollHeight;
  }

  // The rate of progress over the last 15 s of events, and the time left at that rate.
  function rateMeter(id) {
    var samples = [];
    return function (at, d) {
      var t = Date.parse(at), cur = Number(d.current);
      if (isNaN(t) || isNaN(cur)) return;
      samples.push([t, cur]);
      while (samples.length > 2 && t - samples[0][0] > 15000) samples.shift();
      var el = $(by("data-rate", id));
      if (!el || samples.length < 2) return;
      var dt = (t - samples[0][0]) / 1000, dc = cur - samples[0][1];
      if (dt <= 0 || dc <= 0) return;
      var perS = dc / dt;
      var text = perS >= 0.5 ? Number(perS.toPrecision(3)) + " per second" : Number((perS * 60).toPrecision(3)) + " per minute";
      if (d.total && d.total > cur) text += " · about " + relative((d.total - cur) / perS * 1000).replace("in ", "") + " left";
      el.textContent = text;
    };
  }

  // -- pages ----------------------------------------------------------------------------

  var events = body.getAttribute("data-events");
  stickToEnd();

  var ended = page === "job" && FINAL[($("[data-status]") || {}).textContent];
  if (ended) {
    setConn("idle", "Ended");  // its stream would only say so again
  } else if (page === "job") {
    var jobId = body.getAttribute("data-job");
    var reload = refresher(250);
    var measure = rateMeter(jobId);
    // The newest event the page shows: older ones (a resumed stream may repeat what a
    // re-rendered page already holds) are skipped.
    var shown = function () { var el = $("#job-seq"); return el ? Number(el.getAttribute("data-seq")) : 0; };
    var jobStream = stream(body.getAttribute("data-job-events"), function (type, item) {
      var d = item.data, fresh = item.seq > shown();
      if (!fresh && type !== "state") return;
      var mark = $("#job-seq");
      if (mark && fresh) mark.setAttribute("data-seq", String(item.seq));
      if (type === "state") {
        if (fresh) {
          setStatus(jobId, d.status, d.attempts);
          setProgress(jobId, { progress: d.progress, current: d.progress_current, total: d.progress_total, message: d.message });
          if (log && d.messages && d.messages.length !== log.children.length) {
            log.textContent = "";
            showMessages(d.messages, false);
          }
        }
        if (FINAL[d.status]) {
          jobStream.close();
          setConn("idle", "Ended");
          reload();
        }
      } else if (type === "progress") {
        setProgress(jobId, d);
        measure(item.at, d);
      } else if (type === "message") {
        showMessages([d], true);
      } else if (type === "status") {
        setStatus(jobId, d.status, d.attempts);
        if (!FINAL[d.status]) reload();
      }
    }, { resume: true, reconnected: reload });
  } else if (page === "jobs") {
    var reloadList = refresher(300);
    stream(events, function (type, item) {
      var row = $(by("data-row", item.job_id));
      if (type === "progress") {
        if (row) setProgress(item.job_id, item.data);
      } else if (type === "status") {
        if (row) setStatus(item.job_id, item.data.status);
        var table = $("table.jobs");
        if (row || !table || table.getAttribute("data-first-page") === "1") reloadList();
      }
    }, { reconnected: reloadList });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) reloadList(); });
  } else if (page === "overview" || page === "tasks" || page === "schedules") {
    var gap = page === "overview" ? 1000 : 2000;
    var reloadPage = refresher(gap);
    stream(events, function (type, item) {
      if (type === "progress") setProgress(item.job_id, item.data);
      else if (type === "status" && (page === "overview" || FINAL[item.data.status])) reloadPage();
    }, { reconnected: reloadPage });
    setInterval(reloadPage, page === "overview" ? 10000 : 15000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) reloadPage(); });
  } else {
    setConn("idle", "");
  }
})();

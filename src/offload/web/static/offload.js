/* offload.js: follow a job live from a browser.
 *
 *   const w = offload.watch(jobId, (job) => render(job), {baseUrl: "", token: "off_..."});
 *   w.close();
 *
 * Uses EventSource on GET {apiBase}/jobs/{id}/events (the token goes in the
 * ?access_token= query parameter, since EventSource can't send headers). When
 * EventSource is missing or the stream can't be opened, it polls GET {apiBase}/jobs/{id}
 * instead, backing off on errors and honouring Retry-After on 429.
 *
 * onUpdate(job) gets the job JSON of the API every time it changes; after the final
 * state (completed, failed, cancelled) it is called once more with the full job
 * (result included) and the watch ends. options.onEnd(job) is called then too.
 */
(function (global) {
  "use strict";
  var FINAL = { completed: true, failed: true, cancelled: true };

  function apiBase(opts) {
    if (opts.apiBase) return opts.apiBase.replace(/\/$/, "");
    return (opts.baseUrl || "").replace(/\/$/, "") + "/api";
  }

  function headers(opts) {
    var h = { Accept: "application/json" };
    if (opts.token) h.Authorization = "Bearer " + opts.token;
    return h;
  }

  function watch(jobId, onUpdate, options) {
    var opts = options || {};
    var base = apiBase(opts);
    var jobUrl = base + "/jobs/" + encodeURIComponent(jobId);
    var job = null;
    var closed = false;
    var source = null;
    var timer = null;
    var delay = opts.pollInterval || 1000;
    var maxDelay = opts.maxPollInterval || 30000;

    function emit() {
      if (!closed && job) onUpdate(job);
    }

    function finish() {
      if (closed) return;
      // fetch once more: the final state carries the result and every message
      getJob(function (full) {
        if (full) job = full;
        emit();
        stop();
        if (opts.onEnd) opts.onEnd(job);
      });
    }

    function stop() {
      closed = true;
      if (source) source.close();
      if (timer) clearTimeout(timer);
    }

    function getJob(done) {
      fetch(jobUrl, { headers: headers(opts), credentials: opts.credentials || "same-origin" })
        .then(function (r) {
          if (r.status === 429) {
            var after = parseFloat(r.headers.get("Retry-After") || "1");
            delay = Math.min(maxDelay, Math.max(delay * 2, after * 1000));
            return null;
          }
          if (!r.ok) {
            delay = Math.min(maxDelay, delay * 2);
            if (r.status === 401 || r.status === 404) {
              stop();
              if (opts.onError) opts.onError(r.status);
            }
            return null;
          }
          delay = opts.pollInterval || 1000;
          return r.json();
        })
        .then(done, function () {
          delay = Math.min(maxDelay, delay * 2);
          done(null);
        });
    }

    function poll() {
      if (closed) return;
      getJob(function (fresh) {
        if (closed) return;
        if (fresh) {
          job = fresh;
          emit();
          if (FINAL[job.status]) {
            stop();
            if (opts.onEnd) opts.onEnd(job);
            return;
          }
        }
        timer = setTimeout(poll, delay);
      });
    }

    function apply(type, ev) {
      var d = ev.data || {};
      if (type === "state") job = d;
      if (!job) return;
      if (type === "status") {
        job.status = d.status;
        if (d.attempts !== undefined) job.attempts = d.attempts;
        if (d.error) job.error = { message: d.error };
      } else if (type === "progress") {
        job.progress = d.progress;
        job.progress_current = d.current;
        job.progress_total = d.total;
        if (d.message) job.message = d.message;
      } else if (type === "message") {
        job.message = d.message;
        job.messages = (job.messages || []).concat([{ timestamp: d.timestamp, message: d.message }]);
      }
      emit();
      if (FINAL[job.status]) finish();
    }

    function stream() {
      var url = jobUrl + "/events";
      if (opts.token) url += "?access_token=" + encodeURIComponent(opts.token);
      var opened = false;
      source = new EventSource(url, { withCredentials: !!opts.withCredentials });
      ["state", "status", "progress", "message"].forEach(function (type) {
        source.addEventListener(type, function (e) {
          opened = true;
          apply(type, JSON.parse(e.data));
        });
      });
      source.onerror = function () {
        if (closed) return;
        if (!opened || source.readyState === 2) {
          // never got going (or the server refused it): fall back to polling
          source.close();
          source = null;
          poll();
        }
        // otherwise the browser reconnects by itself, sending Last-Event-ID
      };
    }

    if (typeof EventSource === "undefined" || opts.poll) poll();
    else stream();
    return { close: stop };
  }

  global.offload = { watch: watch };
})(typeof window !== "undefined" ? window : this);

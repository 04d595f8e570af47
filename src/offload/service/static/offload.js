/* offload.js: follow offload jobs from a browser; submit, cancel and retry them.
 *
 * A classic script:
 *
 *   <script src="/static/offload.js"></script>
 *   const w = offload.watch(jobId, (job) => render(job), {token: "off_..."});
 *   w.close();
 *
 * or, the same code, as an ES module (offload.mjs beside this file imports it):
 *
 *   import { watch, submit } from "/static/offload.mjs";
 *
 * watch(jobId, onUpdate, options) follows GET {apiBase}/jobs/{id}/events with an
 * EventSource. A dropped stream is resumed after the last event it delivered
 * (?last_event_id=), after a pause that grows while the server can't be reached; a
 * stream that can't be opened while the job itself can be read (a proxy that blocks
 * SSE, too many open streams) makes it poll GET {apiBase}/jobs/{id} instead, as it
 * does when EventSource is missing or options.poll is set. 429 and 503 answers make
 * it wait at least their Retry-After. 400, 401, 403 and 404 end it with
 * options.onError(status, error).
 *
 * onUpdate(job) gets the job JSON of the API every time it changes. The last call
 * carries the final state (completed, failed, cancelled) in full, result included:
 * the stream's closing state, or one more read when the stream didn't bring it.
 * options.onEnd(job) follows it, and the watch ends. close() ends it at any time
 * and stops all its traffic.
 *
 * When loaded as a classic script it defines the global `offload`; imported as a
 * module it defines no global name (offload.mjs takes the client from a symbol).
 */
(function (root) {
  "use strict";

  var FINAL = ["completed", "failed", "cancelled"];
  var FRAMES = ["state", "status", "progress", "message"];
  var JOB_FIELDS = ["queue", "priority", "delay", "run_at", "max_attempts", "timeout", "unique_key"];
  // Streams refused in a row while the job itself could be read: SSE doesn't get
  // through to this server, so poll instead.
  var STREAM_TRIES = 3;

  class OffloadError extends Error {
    /** status: the HTTP status, 0 when the server couldn't be reached; code: the
     * API's error code; retryAfter: the wait it asked for, in milliseconds. */
    constructor(status, code, message, retryAfter, error) {
      super(message);
      this.name = "OffloadError";
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter || 0;
      this.error = error || null;
    }
  }

  function isFinal(job) {
    return !!job && FINAL.indexOf(job.status) >= 0;
  }

  function apiBase(opts) {
    if (opts.apiBase) return opts.apiBase.replace(/\/$/, "");
    return (opts.baseUrl || "").replace(/\/$/, "") + "/api";
  }

  function jobPath(jobId) {
    return "/jobs/" + encodeURIComponent(jobId);
  }

  function guard(fn) {
    // a callback that throws is reported, and changes nothing for the watch
    return function () {
      try {
        if (fn) fn.apply(null, arguments);
      } catch (exc) {
        setTimeout(function () {
          throw exc;
        });
      }
    };
  }

  function retryAfterMs(response) {
    var value = response.headers.get("Retry-After");
    if (!value) return 0;
    var seconds = Number(value);
    if (!isNaN(seconds)) return Math.max(0, seconds * 1000);
    var when = Date.parse(value);
    return isNaN(when) ? 0 : Math.max(0, when - Date.now());
  }

  function parse(text) {
    try {
      return text ? JSON.parse(text) : null;
    } catch (exc) {
      return null;
    }
  }

  /* One exchange with the API: resolves with the answer's JSON, rejects with an
   * OffloadError. A token goes in the Authorization header; without one, cookies do
   * the work (same-origin unless options.credentials says otherwise). */
  function call(method, path, opts, body, extraHeaders) {
    var headers = Object.assign({ Accept: "application/json" }, opts.headers || {}, extraHeaders || {});
    if (opts.token) headers.Authorization = "Bearer " + opts.token;
    var init = { method: method, headers: headers, credentials: opts.credentials || "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (opts.signal) init.signal = opts.signal;
    return fetch(apiBase(opts) + path, init)
      .then(function (r) {
        return r.text().then(function (text) {
          var data = parse(text);
          if (r.ok) return data;
          var error = (data && data.error) || {};
          var message = error.message || method + " " + path + ": HTTP " + r.status;
          throw new OffloadError(r.status, error.code || "http_" + r.status, message, retryAfterMs(r), data && data.error);
        });
      })
      .catch(function (exc) {
        if (exc instanceof OffloadError) throw exc;
        throw new OffloadError(0, "network_error", String((exc && exc.message) || exc), 0);
      });
  }

  /** POST {apiBase}/jobs: resolves with {job_id, status}. options: the connection
   * options of watch, the job's queue, priority, delay, run_at, max_attempts, timeout
   * and unique_key, and idempotencyKey (the Idempotency-Key header). */
  function submit(task, args, kwargs, options) {
    var opts = options || {};
    var body = { task: task, args: args || [], kwargs: kwargs || {} };
    JOB_FIELDS.forEach(function (name) {
      if (opts[name] !== undefined) body[name] = opts[name];
    });
    var extra = opts.idempotencyKey ? { "Idempotency-Key": opts.idempotencyKey } : null;
    return call("POST", "/jobs", opts, body, extra);
  }

  function get(jobId, options) {
    return call("GET", jobPath(jobId), options || {});
  }

  function cancel(jobId, options) {
    return call("POST", jobPath(jobId) + "/cancel", options || {});
  }

  function retry(jobId, options) {
    return call("POST", jobPath(jobId) + "/retry", options || {});
  }

  /* A job's latest state after one event of its stream (a new object each time). */
  function applyEvent(job, type, d) {
    var next = Object.assign({}, job);
    if (type === "status") {
      next.status = d.status;
      if (d.attempts !== undefined) next.attempts = d.attempts;
      if (d.error) next.error = Object.assign({}, job.error, { message: d.error });
    } else if (type === "progress") {
      next.progress = d.progress;
      next.progress_current = d.current;
      next.progress_total = d.total;
      if (d.message) next.message = d.message;
    } else if (type === "message") {
      next.message = d.message;
      next.messages = (job.messages || []).concat([{ timestamp: d.timestamp, message: d.message }]);
    }
    return next;
  }

  class Watch {
    constructor(jobId, onUpdate, opts) {
      this.jobId = jobId;
      this.opts = opts;
      this.onUpdate = guard(onUpdate);
      this.onEnd = guard(opts.onEnd);
      this.onError = guard(opts.onError);
      this.onEvent = guard(opts.onEvent);
      this.url = apiBase(opts) + jobPath(jobId);
      this.interval = opts.pollInterval || 1000;
      this.maxDelay = opts.maxPollInterval || 30000;
      this.delay = this.interval; // the next pause after a failure; doubles up to maxDelay
      this.job = null;
      this.shown = null; // JSON of the last job given to onUpdate
      this.seq = null; // seq of the last event the stream delivered
      this.ending = false; // the final status came; the closing state should follow
      this.refused = 0;
      this.ended = false;
      this.source = null;
      this.timer = null;
      this.aborter = null;
      var self = this;
      this.done = new Promise(function (resolve) {
        self.settle = resolve;
      });
    }

    start() {
      var streams = typeof EventSource !== "undefined" && !this.opts.poll;
      if (streams) this.stream();
      else this.poll();
      return this;
    }

    // -- the end ------------------------------------------------------------------

    stop() {
      this.ended = true;
      if (this.source) this.source.close();
      this.source = null;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (this.aborter) this.aborter.abort();
      this.aborter = null;
    }

    close() {
      if (this.ended) return;
      this.stop();
      this.settle(null);
    }

    finish(job) {
      if (this.ended) return;
      this.stop();
      this.job = job;
      this.onUpdate(job);
      this.onEnd(job);
      this.settle(job);
    }

    fail(error) {
      if (this.ended) return;
      this.stop();
      this.onError(error.status, error);
      this.settle(null);
    }

    // -- reading the job ------------------------------------------------------------

    show(job) {
      this.job = job;
      var text = JSON.stringify(job);
      if (text === this.shown) return;
      this.shown = text;
      this.onUpdate(job);
    }

    wait(fn, minimum) {
      // jitter spreads the browsers a restarted server would otherwise see at once
      var pause = Math.max(minimum || 0, this.delay * (0.8 + 0.4 * Math.random()));
      this.delay = Math.min(this.maxDelay, this.delay * 2);
      var self = this;
      this.timer = setTimeout(function () {
        self.timer = null;
        if (!self.ended) fn.call(self);
      }, pause);
    }

    read() {
      this.aborter = typeof AbortController !== "undefined" ? new AbortController() : null;
      var opts = Object.assign({}, this.opts, { signal: this.aborter && this.aborter.signal });
      return call("GET", jobPath(this.jobId), opts);
    }

    /* After a failed read: end on an answer that won't change (the job is gone, the
     * login is), else try `again` after a pause, at least as long as Retry-After. */
    readFailed(error, again) {
      if (this.ended) return;
      var s = error.status;
      if (s >= 400 && s < 500 && s !== 408 && s !== 429) this.fail(error);
      else this.wait(again, error.retryAfter);
    }

    poll() {
      var self = this;
      this.read().then(
        function (job) {
          if (self.ended) return;
          self.delay = self.interval;
          if (isFinal(job)) return self.finish(job);
          self.show(job);
          self.timer = setTimeout(function () {
            self.timer = null;
            if (!self.ended) self.poll();
          }, self.interval);
        },
        function (error) {
          self.readFailed(error, self.poll);
        }
      );
    }

    // -- the stream -----------------------------------------------------------------

    stream() {
      var query = [];
      if (this.opts.token) query.push("access_token=" + encodeURIComponent(this.opts.token));
      if (this.seq !== null) query.push("last_event_id=" + this.seq);
      var url = this.url + "/events" + (query.length ? "?" + query.join("&") : "");
      var withCredentials = this.opts.withCredentials;
      if (withCredentials === undefined) withCredentials = this.opts.credentials === "include";
      var source;
      try {
        source = new EventSource(url, { withCredentials: !!withCredentials });
      } catch (exc) {
        return this.poll(); // a URL EventSource refuses, or a page that forbids it
      }
      var opened = false;
      var self = this;
      source.onopen = function () {
        opened = true;
        self.refused = 0;
        self.delay = self.interval;
      };
      FRAMES.forEach(function (type) {
        source.addEventListener(type, function (e) {
          if (self.source === source) self.frame(type, e);
        });
      });
      source.onerror = function () {
        // the browser would reconnect by itself at a fixed pace, and give up for good on
        // an error status without saying which: the watch decides instead
        if (self.source !== source) return;
        source.close();
        self.source = null;
        if (self.ending) self.lastRead();
        else self.wait(opened ? self.resume : self.probe);
      };
      this.source = source;
    }

    frame(type, e) {
      var event = parse(e.data);
      if (!event) return;
      var seq = typeof event.seq === "number" ? event.seq : parseInt(e.lastEventId, 10);
      // a state is the whole job; any other event seen before is skipped
      if (type !== "state" && this.seq !== null && seq <= this.seq) return;
      if (!isNaN(seq)) this.seq = this.seq === null ? seq : Math.max(this.seq, seq);
      this.delay = this.interval;
      this.onEvent(event);
      if (type === "state") {
        this.ending = false;
        if (isFinal(event.data)) return this.finish(event.data);
        return this.show(event.data);
      }
      if (!this.job) return;
      var job = applyEvent(this.job, type, event.data || {});
      if (type === "status" && isFinal(job)) {
        // not shown yet: the closing state, result included, follows (or lastRead reads it)
        this.ending = true;
        this.job = job;
        return;
      }
      this.show(job);
    }

    /* The stream dropped after it had opened: go on after its last event. */
    resume() {
      this.stream();
    }

    /* The stream couldn't be opened, and EventSource doesn't say why: a read does. */
    probe() {
      var self = this;
      this.read().then(
        function (job) {
          if (self.ended) return;
          if (isFinal(job)) return self.finish(job);
          self.delay = self.interval; // the server answers: no reason to wait longer
          self.refused += 1;
          if (self.refused < STREAM_TRIES) return self.stream();
          self.show(job);
          self.wait(self.poll);
        },
        function (error) {
          self.readFailed(error, self.probe);
        }
      );
    }

    /* The final status came, and the stream ended before the closing state. */
    lastRead() {
      var self = this;
      this.read().then(
        function (job) {
          if (self.ended) return;
          if (isFinal(job)) return self.finish(job);
          self.ending = false; // retried since: follow it again, from a whole state
          self.seq = null;
          self.show(job);
          self.stream();
        },
        function (error) {
          if (error.status === 404) self.finish(self.job); // deleted right after it ended
          else self.readFailed(error, self.lastRead);
        }
      );
    }
  }

  /** Follow one job; returns {close(), done}: done resolves with the final job, or with
   * null when the watch ended by close() or an error. */
  function watch(jobId, onUpdate, options) {
    var w = new Watch(jobId, onUpdate, options || {}).start();
    return {
      close: function () {
        w.close();
      },
      done: w.done,
    };
  }

  var client = {
    watch: watch,
    submit: submit,
    get: get,
    cancel: cancel,
    retry: retry,
    OffloadError: OffloadError,
  };
  // offload.mjs imports this file and takes the client from here
  globalThis[Symbol.for("offload.client")] = client;
  // top-level `this` is the global object in a classic script, undefined in a module
  if (root) root.offload = client;
})(this);

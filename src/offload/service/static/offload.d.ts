// Types of offload.js, the classic script: it defines the global `offload`.
//
//   /// <reference path="offload.d.ts" />
//   offload.watch(jobId, (job: offload.Job) => render(job), { token });
//
// The types themselves are offload.mjs's (offload.d.mts).

/** The browser client of offload's HTTP API, from `<script src="/static/offload.js">`. */
declare var offload: typeof import("./offload.mjs").default;

/** Its types, by name: `offload.Job`, `offload.WatchOptions` … */
declare namespace offload {
  type Job<Result = unknown> = import("./offload.mjs").Job<Result>;
  type JobStatus = import("./offload.mjs").JobStatus;
  type JobEvent<Result = unknown> = import("./offload.mjs").JobEvent<Result>;
  type WatchOptions<Result = unknown> = import("./offload.mjs").WatchOptions<Result>;
  type SubmitOptions = import("./offload.mjs").SubmitOptions;
  type ConnectionOptions = import("./offload.mjs").ConnectionOptions;
  type Watch<Result = unknown> = import("./offload.mjs").Watch<Result>;
}

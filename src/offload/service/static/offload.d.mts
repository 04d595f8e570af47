// Types of offload.mjs, the browser client of offload's HTTP API (docs/http.md).

/** A job's state. The last three are final: a watch ends there. */
export type JobStatus = "scheduled" | "queued" | "running" | "retrying" | "completed" | "failed" | "cancelled";

export type FinalStatus = "completed" | "failed" | "cancelled";

/** One message a task sent with `job.add_message(...)`. */
export interface JobMessage {
  /** ISO 8601, UTC. */
  timestamp: string;
  message: string;
}

export interface JobError {
  message: string;
  /** Only for admins. */
  traceback?: string;
}

/**
 * The job JSON of the HTTP API (`GET /api/jobs/{id}`). `Result` is what the task
 * returns, `Args` and `Kwargs` what it was given. Timestamps are ISO 8601 UTC.
 */
export interface Job<Result = unknown, Args extends unknown[] = unknown[], Kwargs = Record<string, unknown>> {
  id: string;
  task: string;
  queue: string;
  status: JobStatus;
  priority: number;
  owner: string | null;
  args: Args;
  kwargs: Kwargs;
  /** 0–100. */
  progress: number;
  progress_current: number | null;
  progress_total: number | null;
  /** The latest message. */
  message: string | null;
  messages: JobMessage[];
  /** Set once the job completed. */
  result: Result | null;
  error: JobError | null;
  attempts: number;
  max_attempts: number;
  created_at: string;
  run_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** Seconds. */
  duration: number | null;
}

/** The data of each kind of event on a job's stream. */
export interface EventData<Result = unknown> {
  /** The whole job: first on a stream, and last after the final status. */
  state: Job<Result>;
  status: { status: JobStatus; attempts: number; error: string | null };
  progress: { current: number | null; total: number | null; message: string | null; progress: number };
  message: { timestamp: string; message: string };
}

export type EventType = keyof EventData;

/** One event of `GET /api/jobs/{id}/events`, as its SSE `data:` carries it. */
export type JobEvent<Result = unknown> = {
  [T in EventType]: {
    /** Its place in the event log: events never go backwards. */
    seq: number;
    job_id: string;
    type: T;
    data: EventData<Result>[T];
    /** ISO 8601, UTC. */
    at: string;
  };
}[EventType];

/** Where the API is and who is asking. */
export interface ConnectionOptions {
  /** The server's origin, e.g. `"https://jobs.example.com"`; the API is under `/api`. Default: this page's. */
  baseUrl?: string;
  /** The API's root instead, e.g. `"/offload"` for a Flask blueprint or FastAPI router mounted there. */
  apiBase?: string;
  /**
   * An API token: sent as `Authorization: Bearer` on reads and writes, and as
   * `?access_token=` on the event stream (EventSource can't send headers). Leave it out
   * when the endpoints sit behind your app's own login: cookies then do the work.
   */
  token?: string;
  /** fetch's credentials mode. Default `"same-origin"`; `"include"` sends cookies to another origin. */
  credentials?: "omit" | "same-origin" | "include";
  /** Extra request headers, e.g. your app's CSRF header for submit, cancel and retry. */
  headers?: Record<string, string>;
}

export interface WatchOptions<Result = unknown> extends ConnectionOptions {
  /** Poll instead of streaming. Default: stream when EventSource exists. */
  poll?: boolean;
  /** Milliseconds between reads while polling, and the first pause before a reconnection. Default 1000. */
  pollInterval?: number;
  /** The longest pause after failures, in ms (a longer Retry-After is honoured). Default 30000. */
  maxPollInterval?: number;
  /** EventSource's withCredentials. Default: `credentials === "include"`. */
  withCredentials?: boolean;
  /** Once, with the final job (result included), after its last onUpdate. */
  onEnd?: (job: Job<Result>) => void;
  /** Once, when an answer ends the watch: 400, 401, 403, 404. */
  onError?: (status: number, error: OffloadError) => void;
  /** Every event of the stream as it arrives (not while polling). */
  onEvent?: (event: JobEvent<Result>) => void;
}

export interface Watch<Result = unknown> {
  /** Stop now: no more callbacks, no more requests. */
  close(): void;
  /** The final job; null when the watch was closed or ended by onError. */
  readonly done: Promise<Job<Result> | null>;
}

/**
 * Follow one job: `onUpdate` gets the job every time it changes, the final state last.
 * Reconnects after a dropped stream (after its last event), polls when SSE can't get
 * through, and waits out 429 and 503 answers (at least their Retry-After).
 */
export function watch<Result = unknown>(
  jobId: string,
  onUpdate: (job: Job<Result>) => void,
  options?: WatchOptions<Result>,
): Watch<Result>;

export interface SubmitOptions extends ConnectionOptions {
  queue?: string;
  priority?: number;
  /** Seconds from now; or give `run_at`. */
  delay?: number;
  /** ISO 8601 (UTC without an offset) or POSIX seconds. */
  run_at?: string | number;
  max_attempts?: number;
  /** Seconds. */
  timeout?: number;
  unique_key?: string;
  /** Sent as the `Idempotency-Key` header: a repeated key returns the same job. */
  idempotencyKey?: string;
}

export interface Submitted {
  job_id: string;
  /** `"queued"`, `"scheduled"` when delayed, or the state of the job a repeated key names. */
  status: JobStatus;
}

/** `POST /jobs`: the job is queued, and its id comes back at once. */
export function submit(
  task: string,
  args?: unknown[],
  kwargs?: Record<string, unknown>,
  options?: SubmitOptions,
): Promise<Submitted>;

/** `GET /jobs/{id}`. */
export function get<Result = unknown>(jobId: string, options?: ConnectionOptions): Promise<Job<Result>>;

/** `POST /jobs/{id}/cancel`: a waiting job ends at once, a running one is asked to stop. */
export function cancel<Result = unknown>(jobId: string, options?: ConnectionOptions): Promise<Job<Result>>;

/** `POST /jobs/{id}/retry`: a failed or cancelled job goes back to `queued`. */
export function retry<Result = unknown>(jobId: string, options?: ConnectionOptions): Promise<Job<Result>>;

/** What submit, get, cancel and retry reject with. */
export class OffloadError extends Error {
  constructor(status: number, code: string, message: string, retryAfter?: number, error?: { code: string; message: string } | null);
  /** The HTTP status; 0 when the server couldn't be reached. */
  readonly status: number;
  /** The API's error code (`"not_found"`, `"rate_limited"` …); `"network_error"` for status 0. */
  readonly code: string;
  /** The wait the server asked for (Retry-After), in milliseconds; 0 when it asked none. */
  readonly retryAfter: number;
  /** The answer's `error` object, when it had one. */
  readonly error: { code: string; message: string } | null;
}

declare const offload: {
  watch: typeof watch;
  submit: typeof submit;
  get: typeof get;
  cancel: typeof cancel;
  retry: typeof retry;
  OffloadError: typeof OffloadError;
};
export default offload;

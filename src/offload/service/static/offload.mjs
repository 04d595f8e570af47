/* offload.mjs: the browser client as an ES module.
 *
 *   import { watch, submit, cancel, retry } from "/static/offload.mjs";
 *   const { job_id } = await submit("scrape", ["payback"], {}, { token });
 *   const w = watch(job_id, (job) => render(job), { token });
 *   const final = await w.done;
 *
 * The code is offload.js's, loaded from beside this file: one client for both ways
 * of loading it. Imported this way it defines no global name. Types: offload.d.mts.
 */
import "./offload.js";

const client = globalThis[Symbol.for("offload.client")];

export const watch = client.watch;
export const submit = client.submit;
export const get = client.get;
export const cancel = client.cancel;
export const retry = client.retry;
export const OffloadError = client.OffloadError;
export default client;

"""The dashboard and the browser client (offload.js, offload.mjs) in a real browser
(Chromium through Playwright) against real servers and workers."""

"""The dashboard's pages and actions, one module per concern; ``ROUTES`` maps paths
(below the dashboard's prefix) to them. Names and ids that may hold any character
(queues, schedules) travel in form fields, not in paths."""

from __future__ import annotations

from . import job, jobs, overview, schedules, tasks

ROUTES = [
    ("GET", "/", overview.page),
    ("POST", "/queues/action", overview.queue_action),
    ("GET", "/jobs", jobs.page),
    ("POST", "/jobs/action", jobs.bulk),
    ("GET", "/jobs/(?P<job_id>[^/]+)", job.page),
    ("POST", "/jobs/(?P<job_id>[^/]+)/(?P<action>cancel|retry|delete)", job.act),
    ("GET", "/tasks", tasks.page),
    ("GET", "/tasks/(?P<task>.+)", tasks.detail),
    ("GET", "/schedules", schedules.page),
    ("POST", "/schedules/action", schedules.act),
]

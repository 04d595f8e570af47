"""Schedules: when a schedule fires (timing), firing them (firing), and managing them
(manager: ``app.schedules``)."""

from .manager import Schedules

__all__ = ["Schedules"]

"""Roles for the API: owners act on their own jobs; operators (staff, root, SlurmUser) on all."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from scheduler.actions.access import can_act_on, check_job_access, is_operator

__all__ = ["IsOperator", "can_act_on", "check_job_access", "is_operator"]


class IsOperator(BasePermission):  # type: ignore[misc]
    message = "Access/permission denied"

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_operator(request.user)

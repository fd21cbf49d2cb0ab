"""Log in and out with Django's auth (a portal user is a Unix user name)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.views.decorators.http import require_POST

from portal.web.csp import csp

login = csp(auth_views.LoginView.as_view(template_name="registration/login.html",
                                         redirect_authenticated_user=True))
logout = require_POST(csp(auth_views.LogoutView.as_view(next_page="login")))

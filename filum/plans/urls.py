"""URLs of the plans app, mounted at the site's root: each path names its full prefix."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

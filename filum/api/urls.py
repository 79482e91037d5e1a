from django.urls import path

from filum.api import views

urlpatterns = [
    path("organisation/api-tokens/", views.api_tokens, name="api_tokens"),
    path(
        "organisation/api-tokens/<int:token_id>/revoke/",
        views.api_token_revoke,
        name="api_token_revoke",
    ),
]

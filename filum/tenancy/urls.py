from django.urls import path

from filum.tenancy import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/membership/", views.switch_membership, name="switch_membership"),
    path("account/mfa/setup/", views.mfa_setup, name="mfa_setup"),
    path("account/mfa/verify/", views.mfa_verify, name="mfa_verify"),
    path("account/password/forgot/", views.password_forgot, name="password_forgot"),
    path("account/link/<str:token>/", views.signin_link, name="signin_link"),
    path("organisation/members/", views.members, name="members"),
    path(
        "organisation/members/<int:membership_id>/invite/",
        views.member_invite,
        name="member_invite",
    ),
    path("organisation/security/", views.organisation_security, name="organisation_security"),
    path("platform/organisations/", views.platform_organisations, name="platform_organisations"),
    path(
        "organisation/members/<int:membership_id>/deactivate/",
        views.member_deactivate,
        name="member_deactivate",
    ),
]

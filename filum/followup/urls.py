from django.urls import path

from filum.followup import views

urlpatterns = [
    path("cockpit/", views.cockpit, name="cockpit"),
    path("cockpit/team/", views.cockpit_team, name="cockpit_team"),
    path("cockpit/integration/", views.cockpit_integration, name="cockpit_integration"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<int:task_id>/", views.task_detail, name="task_detail"),
    path("tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("tasks/<int:task_id>/cancel/", views.task_cancel, name="task_cancel"),
    path("cases/<uuid:case_id>/tasks/new/", views.task_create, name="task_create"),
]

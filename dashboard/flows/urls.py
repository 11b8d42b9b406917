from django.urls import path

from dashboard.flows import views

app_name = "flows"

urlpatterns = [
    path("", views.list, name="list"),
    path("node-types/", views.node_types, name="node_types"),
    path("node-types/<str:node_type>/validate/", views.validate, name="validate"),
    path("<str:flow_id>/", views.flow_detail, name="flow"),
    path("<str:flow_id>/nodes/<str:node_id>/", views.node_config, name="node_config"),
]

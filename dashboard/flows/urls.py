from django.urls import path

from dashboard.flows import views

app_name = "flows"

urlpatterns = [
    path("", views.flow_list, name="list"),
    path("node-types/", views.node_types, name="node_types"),
    path("node-types/<key:node_type>/validate/", views.validate, name="validate"),
    path("<key:flow_id>/", views.flow_detail, name="flow"),
    path("<key:flow_id>/nodes/<key:node_id>/", views.node_config, name="node_config"),
]

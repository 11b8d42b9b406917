from django.urls import path

from dashboard.home import views

# No namespace: the home page is `{% url 'home' %}` everywhere.
urlpatterns = [
    path("", views.home, name="home"),
]

from django.urls import path

from scenarios import views

app_name = "scenarios"
urlpatterns = [
    path("", views.library, name="library"),
    path("series/<int:pk>/", views.series_detail, name="series"),
    path("scenario/<int:pk>/", views.scenario_preview, name="scenario"),
    path("pack/new/", views.pack_new, name="pack_new"),
    path("pack/<int:pk>/", views.pack_preview, name="pack"),
    path("book/<int:pk>/", views.book_detail, name="book"),
]

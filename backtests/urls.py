from django.urls import path

from backtests import views

app_name = "backtests"
urlpatterns = [
    path("runs/<int:pk>/progress/", views.run_progress, name="progress"),
    path("runs/<int:pk>/manifest/", views.run_manifest, name="manifest"),
    path("runs/<int:pk>/results.csv", views.run_results_csv, name="results_csv"),
    path("runs/<int:pk>/cost-of-delay.csv", views.run_delay_csv, name="delay_csv"),
    path("runs/<int:pk>/charts/", views.run_charts, name="charts"),
    path("runs/<int:pk>/charts/<slug:key>.csv", views.chart_csv, name="chart_csv"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="cancel"),
    path("proposals/<int:pk>/panel/", views.proposal_panel_fragment, name="panel"),
    path("proposals/<int:pk>/start/", views.proposal_start, name="start"),
]

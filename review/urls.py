from django.urls import path

from review import export_views, views

app_name = "review"
urlpatterns = [
    path("", views.home, name="home"),
    path("proposals/", views.proposal_list, name="list"),
    path("proposals/new/", views.proposal_new, name="new"),
    path("proposals/compare/", views.proposal_compare, name="compare"),
    path("proposals/compare/<slug:key>.csv", views.compare_csv, name="compare_csv"),
    path("proposals/<int:pk>/", views.proposal_detail, name="detail"),
    path("proposals/<int:pk>/edit/", views.proposal_edit, name="edit"),
    path("proposals/<int:pk>/submit/", views.proposal_submit, name="submit"),
    path("proposals/<int:pk>/withdraw/", views.proposal_withdraw, name="withdraw"),
    path("proposals/<int:pk>/open-voting/", views.proposal_open_voting, name="open_voting"),
    path("proposals/<int:pk>/execute/", views.proposal_execute, name="execute"),
    path("proposals/<int:pk>/export/", export_views.proposal_export, name="export"),
    path(
        "proposals/<int:pk>/exports/<int:number>/<slug:kind>/", export_views.export_file, name="export_file"
    ),
    path("markets/", views.market_list, name="markets"),
    path("markets/<slug:slug>/", views.market_detail, name="market"),
    path("markets/<slug:slug>/propose/", views.proposal_create, name="create"),
    path("markets/<slug:slug>/diff/", views.market_diff, name="market_diff"),
]

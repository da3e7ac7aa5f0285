from django.urls import path

from voting import views

app_name = "voting"
urlpatterns = [
    path("proposals/<int:pk>/vote/", views.vote, name="vote"),
    path("proposals/<int:pk>/tally/", views.tally, name="tally"),
    path("proposals/<int:pk>/close/", views.close, name="close"),
    path("proposals/<int:pk>/audit/", views.audit, name="audit"),
    path("delegation/", views.delegation, name="delegation"),
    path("sign-in/", views.wallet_sign_in, name="sign_in"),
    path("sign-in/message/", views.siwe_message, name="siwe_message"),
    path("sign-in/verify/", views.siwe_verify, name="siwe_verify"),
]

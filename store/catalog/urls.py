from django.urls import path

from . import views

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("fruits/", views.FruitList.as_view(), name="fruit-list"),
    path("upload/", views.ImageUpload.as_view(), name="upload"),
]

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.shortcuts import render
from rest_framework import generics, parsers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Fruit
from .serializers import FruitSerializer


class FruitList(generics.ListCreateAPIView):
    queryset = Fruit.objects.all()
    serializer_class = FruitSerializer


class ImageUpload(APIView):
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"file": ["No file was submitted."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            # As a FileField(upload_to="images/") would: generate_filename() cleans the name (get_valid_filename),
            # save() randomises it when it is taken.
            default_storage.save(default_storage.generate_filename(f"images/{upload.name}"), upload)
        except SuspiciousFileOperation as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_201_CREATED)


def catalog(request):
    return render(request, "catalog/index.html", {"fruits": Fruit.objects.all()})

from django.db import models


class Fruit(models.Model):
    name = models.CharField(max_length=100)
    weight = models.IntegerField()
    # default without blank=True: DRF then makes it optional (absent -> "") yet refuses "" (400), as the lab's app does.
    description = models.TextField(max_length=5000, default="")
    image_name = models.CharField(max_length=100)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

"""Browser routes of the incident register."""

app_name = "incidents"
urlpatterns: list = []

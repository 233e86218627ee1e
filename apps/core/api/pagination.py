from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ValuesRows:
    """A filtered queryset paged as ``values(*columns)`` rows, counted as the bare queryset.

    ``queryset.values("business_unit__code", …).count()`` keeps the joins the columns need;
    counting the queryset itself joins only what its filters need. Slices are lists of dicts.
    """

    ordered = True

    def __init__(self, queryset, columns):
        self.queryset = queryset
        self.columns = tuple(columns)

    def count(self) -> int:
        return self.queryset.order_by().count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        return list(self.queryset.values(*self.columns)[index])

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from scenarios.models import Book, PackEntry, PriceSeries, Scenario, StressPack


@admin.register(PriceSeries)
class PriceSeriesAdmin(admin.ModelAdmin):
    """Series are written by ``import_prices`` only (whole files, in one transaction)."""

    list_display = (
        "name",
        "source",
        "first_time",
        "last_time",
        "row_count",
        "gap_count",
        "bytes_stored",
        "page",
    )
    list_filter = ("interval", "source")
    search_fields = ("symbol",)
    readonly_fields = [f.name for f in PriceSeries._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="gaps")
    def gap_count(self, obj: PriceSeries) -> str:
        return f"{len(obj.gaps)} ({obj.missing_bars} bars)"

    @admin.display(description="page")
    def page(self, obj: PriceSeries) -> str:
        return format_html('<a href="{}">chart</a>', reverse("scenarios:series", args=[obj.pk]))


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "seed", "preview")
    search_fields = ("name",)
    filter_horizontal = ("series",)

    @admin.display(description="kind")
    def kind(self, obj: Scenario) -> str:
        return obj.spec.get("kind", "?") if isinstance(obj.spec, dict) else "?"

    @admin.display(description="preview")
    def preview(self, obj: Scenario) -> str:
        return format_html('<a href="{}">fan chart</a>', reverse("scenarios:scenario", args=[obj.pk]))


class PackEntryInline(admin.TabularInline):
    model = PackEntry
    extra = 1
    ordering = ("position",)
    autocomplete_fields = ("scenario",)


@admin.register(StressPack)
class StressPackAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "market",
        "is_default",
        "size",
        "n_paths",
        "chunk_paths",
        "seed",
        "book",
        "preview",
    )
    list_filter = ("market", "is_default")
    inlines = [PackEntryInline]

    @admin.display(description="scenarios")
    def size(self, obj: StressPack) -> int:
        return obj.entries.count()

    @admin.display(description="preview")
    def preview(self, obj: StressPack) -> str:
        return format_html('<a href="{}">fan charts</a>', reverse("scenarios:pack", args=[obj.pk]))


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    """Books are written by ``import_book`` / ``generate_book``; admins may rename them or
    change which one is the market's default."""

    list_display = ("name", "market", "kind", "n_positions", "is_default", "page")
    list_filter = ("market", "kind")
    readonly_fields = (
        "kind",
        "generator",
        "seed",
        "source_detail",
        "columns",
        "n_positions",
        "bytes_stored",
        "sha256",
        "summary",
        "created_at",
    )
    exclude = ("data",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="page")
    def page(self, obj: Book) -> str:
        return format_html('<a href="{}">summary</a>', reverse("scenarios:book", args=[obj.pk]))

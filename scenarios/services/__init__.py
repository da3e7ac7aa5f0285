"""Workflows of the scenario library, for views, commands and the backtests app.

``prices``: import, download, store and load price series; ``packs``: scenarios and stress
packs; ``books``: position books. Everything public is importable from ``scenarios.services``.
"""
from scenarios.services.books import (
    book_for_market, book_manifest, book_page, book_sha256, decode_book, default_book, encode_book, generate_book,
    import_book, live_book_generator,
)
from scenarios.services.packs import (
    create_stress_pack, create_synthetic_pack, default_pack, generate_paths, normalize_spec, pack_for_market, save_scenario,
    scenario_history, scenario_manifest, series_for_scenario,
)
from scenarios.services.prices import (
    ImportResult, append_prices, download_binance, from_epoch, get_series, import_price_file, iso, load_history,
    load_window, series_name, store_prices, to_epoch, window_sha256,
)

__all__ = [
    "ImportResult", "append_prices", "book_for_market", "book_manifest", "book_page", "book_sha256",
    "create_stress_pack", "create_synthetic_pack", "decode_book", "default_book", "default_pack", "download_binance", "encode_book",
    "from_epoch", "generate_book", "generate_paths", "get_series", "import_book", "import_price_file", "iso", "live_book_generator",
    "load_history", "load_window", "normalize_spec", "pack_for_market", "save_scenario", "scenario_history",
    "scenario_manifest", "series_for_scenario", "series_name", "store_prices", "to_epoch", "window_sha256",
]

# A scenario's oracle latency and heartbeat become times in seconds (margin-engine.md section 6):
# a replay now steps four times a bar, so a count of steps no longer says how late the oracle is.

from django.db import migrations

OLD_TO_NEW = {"latency": "latency_seconds", "heartbeat": "heartbeat_seconds"}


def _bar_seconds(scenario) -> int:
    """What one step lasted when the spec was written: the spec's interval, else its price
    series' bar, else an hour (engine.scenarios.generate's default)."""
    if scenario.spec.get("interval_seconds"):
        return int(scenario.spec["interval_seconds"])
    series = scenario.series.order_by("interval_seconds").first()
    return int(series.interval_seconds) if series is not None else 3600


def _convert(oracle: dict, seconds: int, forward: bool) -> dict:
    pairs = OLD_TO_NEW.items() if forward else ((new, old) for old, new in OLD_TO_NEW.items())
    out = dict(oracle)
    for src, dst in pairs:
        if src in out:
            value = out.pop(src)
            out[dst] = int(value) * seconds if forward else -(-int(value) // seconds)
    return out


def _migrate(apps, forward: bool) -> None:
    Scenario = apps.get_model("scenarios", "Scenario")
    for scenario in Scenario.objects.all():
        oracle = (scenario.spec.get("conditions") or {}).get("oracle")
        if not isinstance(oracle, dict):
            continue
        keys = OLD_TO_NEW.keys() if forward else OLD_TO_NEW.values()
        if not any(k in oracle for k in keys):
            continue
        spec = dict(scenario.spec)
        spec["conditions"] = {
            **spec["conditions"],
            "oracle": _convert(oracle, _bar_seconds(scenario), forward),
        }
        scenario.spec = spec
        scenario.save(update_fields=["spec"])


def to_seconds(apps, schema_editor):
    _migrate(apps, forward=True)


def to_steps(apps, schema_editor):
    _migrate(apps, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("scenarios", "0003_pack_baseline"),
    ]

    operations = [migrations.RunPython(to_seconds, to_steps)]
